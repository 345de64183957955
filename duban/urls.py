from django.urls import include, path

from duban.accounts.urls import login_urlpatterns
from duban.accounts.views import home

urlpatterns = [
    path("", home, name="home"),
    path("", include("duban.core.urls")),
    path("accounts/", include(login_urlpatterns)),
    path("accounts/", include("duban.accounts.urls")),
    path("accounts/two-factor/", include("duban.twofactor.urls")),
    path("ledger/", include("duban.ledger.urls")),
    path("inspections/", include("duban.inspections.urls")),
    path("admin/accounts/", include("duban.accounts.admin_urls")),
    path("api/v1/", include("duban.api.urls")),
    path("audit/", include("duban.audit.urls")),
    path("documents/render/", include("duban.documents.render_urls")),
    path("documents/feedback/", include("duban.documents.feedback_urls")),
    path("documents/", include("duban.documents.urls")),
    path("supervision/", include("duban.supervision.urls")),
    path("lookback/", include("duban.lookback.urls")),
    path("escalation/", include("duban.escalation.urls")),
    path("calendar/", include("duban.workcalendar.urls")),
    path("inbox/", include("duban.notify.urls")),
]

# Last-resort answers: JSON under /api/, 503 with Retry-After while the database is down.
handler400 = "duban.core.errors.bad_request"
handler403 = "duban.core.errors.permission_denied"
handler404 = "duban.core.errors.page_not_found"
handler500 = "duban.core.errors.server_error"

from django.urls import path

from . import views

app_name = "escalation"

urlpatterns = [
    path("notices/", views.notice_list, name="notice_list"),
    path("notices/<int:pk>/", views.notice_detail, name="notice_detail"),
    path("notices/<int:pk>/acknowledge/", views.notice_acknowledge, name="notice_acknowledge"),
    path("notices/<int:pk>/answer/", views.notice_answer, name="notice_answer"),
    path("circulars/", views.circular_list, name="circular_list"),
    path("circulars/<int:pk>/", views.circular_detail, name="circular_detail"),
    path("circulars/<int:pk>/approve/", views.circular_approve, name="circular_approve"),
    path("circulars/<int:pk>/discard/", views.circular_discard, name="circular_discard"),
    path("interviews/<int:pk>/", views.interview_detail, name="interview_detail"),
    path("inspections/<int:pk>/ladder/", views.policy_edit, name="policy_edit"),
    path("accountability/", views.record_list, name="record_list"),
    path("accountability/new/", views.record_create, name="record_create"),
    path("accountability/<int:pk>/", views.record_edit, name="record_edit"),
]
# One route per document and format, as in duban.documents.render_urls.
urlpatterns += [
    path(f"{route}.{fmt}", view, {"fmt": fmt}, name=f"{name}_{fmt}")
    for route, view, name in (
        ("notices/<int:pk>/document", views.notice_document, "notice_document"),
        ("circulars/<int:pk>/document", views.circular_document, "circular_document"),
    )
    for fmt in ("docx", "pdf")
]

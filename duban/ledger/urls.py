from django.urls import path

from .views import actions, detail, listing

app_name = "ledger"

urlpatterns = [
    # listing.py (the ledger list)
    path("", listing.problem_list, name="problem_list"),
    # detail.py (one problem: detail, timeline, evidence catalogue, files)
    path("problems/new/", detail.problem_create, name="problem_create"),
    path("problems/<int:pk>/", detail.problem_detail, name="problem_detail"),
    path("problems/<int:pk>/edit/", detail.problem_edit, name="problem_edit"),
    path("evidence/<int:pk>/download/", detail.evidence_download, name="evidence_download"),
    path("evidence/<int:pk>/thumbnail/", detail.evidence_thumbnail, name="evidence_thumbnail"),
    # actions.py (one view per action form; each calls duban.ledger.actions)
    path("problems/<int:pk>/do/<slug:action>/", actions.problem_action, name="problem_action"),
    path("evidence/<int:pk>/review/", actions.evidence_review, name="evidence_review"),
]

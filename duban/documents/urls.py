from django.urls import path

from . import import_views, views

app_name = "documents"

urlpatterns = [
    path("ledger.xlsx", views.ledger_export, name="ledger_export"),
    path("exports/<int:pk>/", views.export_progress, name="export_progress"),
    path("exports/<int:pk>/download/", views.export_download, name="export_download"),
    path("exports/<int:pk>/run-again/", views.export_run_again, name="export_run_again"),
    path("import/", import_views.import_upload, name="import_upload"),
    path("import/<int:pk>/", import_views.import_preview, name="import_preview"),
    path("import/<int:pk>/commit/", import_views.import_commit, name="import_commit"),
    path("import/<int:pk>/progress/", import_views.import_progress, name="import_progress"),
    path("import/<int:pk>/run-again/", import_views.import_run_again, name="import_run_again"),
]

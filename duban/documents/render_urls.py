"""One route per document and format (…_docx, …_pdf), so each URL names exactly one file."""

from django.urls import path

from . import render_views

app_name = "render"

ROUTES = [
    ("problem/<int:pk>/closing-record", render_views.closing_record, "closing_record"),
    ("unit/<int:pk>/supervision-notice", render_views.supervision_notice, "supervision_notice"),
    ("inspection/<int:pk>/progress-report", render_views.progress_report, "progress_report"),
    ("inspection/<int:pk>/public-notice", render_views.public_notice, "public_notice"),
]

urlpatterns = [
    path(f"{route}.{fmt}", view, {"fmt": fmt}, name=f"{name}_{fmt}")
    for route, view, name in ROUTES
    for fmt in ("docx", "pdf")
]

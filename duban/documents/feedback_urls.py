"""The feedback-report page: upload a report, then review its candidates and create problems."""

from django.urls import path

from . import feedback_views

app_name = "feedback"

urlpatterns = [
    path("", feedback_views.upload, name="upload"),
    path("review/", feedback_views.review, name="review"),
]

from django.urls import path

from . import views

app_name = "supervision"

urlpatterns = [
    path("late-reports/", views.late_reports, name="late_reports"),
]

from django.urls import path

from . import views

app_name = "lookback"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("draws/new/", views.draw_create, name="draw_create"),
    path("draws/<int:pk>/", views.draw_detail, name="draw_detail"),
    path("checks/<int:pk>/", views.check_detail, name="check_detail"),
    path("checks/<int:pk>/files/<int:evidence_pk>/", views.check_evidence, name="check_evidence"),
]

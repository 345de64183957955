from django.urls import path

from . import views

app_name = "twofactor"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("setup/", views.setup, name="setup"),
    path("setup/qr.svg", views.setup_qr, name="setup_qr"),
    path("verify/", views.verify, name="verify"),
    path("recovery-codes/", views.recovery_codes, name="recovery_codes"),
    path("off/", views.turn_off, name="turn_off"),
    path("reset/<int:pk>/", views.admin_reset, name="admin_reset"),
]

from django.urls import path

from . import views

app_name = "documents"

urlpatterns = [
    path("ledger.xlsx", views.ledger_export, name="ledger_export"),
]

"""The system administrator's account pages, under /admin/accounts/ (namespace account_admin)."""

from django.urls import path

from . import admin_views as views

app_name = "account_admin"

urlpatterns = [
    path("", views.user_list, name="user_list"),
    path("new/", views.user_create, name="user_create"),
    path("<int:pk>/", views.user_detail, name="user_detail"),
    path("<int:pk>/memberships/", views.membership_add, name="membership_add"),
    path(
        "<int:pk>/memberships/<int:membership_pk>/remove/",
        views.membership_remove,
        name="membership_remove",
    ),
    path("<int:pk>/password/reset/", views.password_reset, name="password_reset"),
    path("<int:pk>/unlock/", views.unlock, name="unlock"),
]

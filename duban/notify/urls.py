from django.urls import path

from . import views

app_name = "notify"

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("<int:pk>/read/", views.mark_read, name="mark_read"),
    path("read-all/", views.mark_all_read, name="mark_all_read"),
    path("settings/", views.preferences, name="preferences"),
    path("robots/", views.robot_list, name="robot_list"),
    path("robots/<int:pk>/", views.robot_edit, name="robot_edit"),
    path("robots/<int:pk>/delete/", views.robot_delete, name="robot_delete"),
    path("robots/<int:pk>/test/", views.robot_test, name="robot_test"),
]

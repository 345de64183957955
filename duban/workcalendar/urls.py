from django.urls import path

from . import views

app_name = "workcalendar"

urlpatterns = [
    path("", views.year_page, name="year"),
    path("remove/", views.remove_day, name="remove"),
]

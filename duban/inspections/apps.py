from django.apps import AppConfig


class InspectionsConfig(AppConfig):
    name = "duban.inspections"
    label = "inspections"

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SupervisionConfig(AppConfig):
    """Supervision that runs by itself: sweeps over deadlines, reporting cycles and notices."""

    name = "duban.supervision"
    label = "supervision"
    verbose_name = _("Supervision")

    def ready(self):
        # Each module that defines sweep rules registers them when imported.
        from . import rules  # noqa: F401
        from .labels import register

        register()

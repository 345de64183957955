from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules
from django.utils.translation import gettext_lazy as _


class SupervisionConfig(AppConfig):
    """Supervision that runs by itself: sweeps over deadlines, reporting cycles and notices."""

    name = "duban.supervision"
    label = "supervision"
    verbose_name = _("Supervision")

    def ready(self):
        # Sweep rules by discovery: an app above supervision registers its rules (@sweep.rule) in
        # its `rules` module, imported here in INSTALLED_APPS order (documents, escalation);
        # supervision's own rules come after them. Rules run in registration order.
        autodiscover_modules("rules")
        from . import clock  # noqa: F401
        from .labels import register

        register()

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LookbackConfig(AppConfig):
    """回头看: seeded random draws of closed problems and checkers, checks, rebounds."""

    name = "duban.lookback"
    label = "lookback"
    verbose_name = _("Look-back checks")

    def ready(self):
        from duban.ledger.timeline import register_labels

        register_labels(
            {
                "lookback.drawn": _("Drawn for a look-back check"),
                "lookback.kept": _("Look-back check: kept"),
                "lookback.rebound": _("Look-back check: rebound found"),
                "rebound.reopen": _("Reopened after rebound"),
            }
        )

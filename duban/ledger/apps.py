from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "duban.ledger"
    label = "ledger"

    def ready(self):
        from duban.inspections import plugins

        from . import inspection_plugins

        plugins.register_counts_by_state(inspection_plugins.counts_by_state)
        plugins.register_level_change_check(inspection_plugins.level_change_refusal)

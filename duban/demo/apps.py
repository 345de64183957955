from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DemoConfig(AppConfig):
    """The top layer: the demo world (`seed_demo`), the synthetic world (`seed_scale`) and
    the ledger benchmark (`bench_ledger`). It may import every app; no app imports it."""

    name = "duban.demo"
    label = "demo"
    verbose_name = _("Demo and benchmarks")

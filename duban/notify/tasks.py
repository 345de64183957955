"""The after-commit send (django-tasks): notify() enqueues the new deliveries' ids.

The DatabaseBackend runs it in `duban db_worker`; tests use the ImmediateBackend, which
runs it inline at commit. Whatever it misses (no worker running, a channel down) the
sweep rule "deliver" sends later; claiming makes running both harmless.
"""

from django.utils import timezone
from django_tasks import task

from .delivery import deliver_fresh


@task()
def send_deliveries(delivery_ids: list[int]) -> dict:
    return dict(deliver_fresh(delivery_ids, timezone.now()))

"""The heartbeat of a background job: proof, written to its row, that its worker is still alive.

A worker killed mid-job (kill -9, out of memory, the machine lost) cannot say so, and its job would
stay "running" for ever. While a task works, a thread of its own writes the job's heartbeat_at every
HEARTBEAT_SECONDS in one short UPDATE on its own database connection: the work itself is not slowed,
and the row is not held between beats. A thread rather than the progress callback, because a long
step calls no callback (reading a large workbook in its capped child, registering a batch of rows).
On SQLite a beat waits while an import's own transaction holds the write lock; the sweep that would
judge it waits for that lock too, and the import's outcome commits with its rows (see jobs.py).
"""

import logging
import threading
from contextlib import contextmanager

from django.db import DatabaseError, connections, transaction
from django.utils import timezone

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 5.0


def _beat(model, pk: int, attempt: int, stop: threading.Event, interval: float) -> None:
    try:
        while not stop.wait(interval):
            try:
                beating = model.objects.filter(
                    pk=pk, status=model.Status.RUNNING, attempt=attempt
                ).update(heartbeat_at=timezone.now())
            except DatabaseError:  # the database busy or away a moment: beat again next time
                logger.info("%s %s: heartbeat not written", model._meta.model_name, pk)
                continue
            if not beating:  # finished, or given up on by the sweep: nothing more to say
                return
    finally:
        connections.close_all()  # this thread's own connections


@contextmanager
def heartbeat(job, interval: float = HEARTBEAT_SECONDS):
    """Keep `job` (claimed by this run) beating while the block runs."""
    if transaction.get_connection().in_atomic_block:
        # Run inline inside someone's transaction (the ImmediateBackend in a test): no other
        # connection sees this run's row, so there is no one to tell.
        yield
        return
    stop = threading.Event()
    thread = threading.Thread(
        target=_beat,
        args=(type(job), job.pk, job.attempt, stop, interval),
        name=f"heartbeat-{job._meta.model_name}-{job.pk}",
        daemon=True,
    )
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()

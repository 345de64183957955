"""The heartbeat and the running count of a background job, both kept in the job's row.

A worker may run on another machine than the web server (PostgreSQL, several web processes,
workers elsewhere): whatever a page shows about a running job comes from the database, never from
a file the worker writes.

The heartbeat. A worker killed mid-job (kill -9, out of memory, the machine lost) cannot say so,
and its job would stay "running" for ever. While a task works, a thread of its own (the pulse)
writes the job's heartbeat_at every HEARTBEAT_SECONDS in one short UPDATE on its own database
connection: the work itself is not slowed, and the row is not held between beats. A thread rather
than the progress callback, because a long step calls no callback (reading a large workbook in its
capped child, checking every row before registering them). The sweep fails a job whose beat went
quiet (jobs.py).

The running count. The task tells its Progress how far it is (progress_done, progress_total,
progress_phase); the count is written to the row in one of two ways, never both at once (a lock
orders the writes, so the count shown never goes back):

- by the pulse, on its own connection, at most every PROGRESS_SECONDS with the next beat. This is
  how the count moves on PostgreSQL while the task's own connection is inside a transaction (an
  import registering a batch of rows): the import does not lock the job's row, so the pulse's
  UPDATE goes through at once, and the page moves while the rows are written.
- by the task's own connection, where the task allows it (`own_writes`) and its connection is not
  inside a transaction: an import while it reads the list and between the batches it commits. This
  is how the count moves on SQLite, where a transaction holds the one write lock of the whole
  database from BEGIN to COMMIT: the pulse's UPDATE would wait (up to the busy timeout) for the
  import's transaction to end, so the count of rows being registered inside one transaction
  cannot be shown until it commits. With imports committed in batches, the page moves batch by
  batch on SQLite; within a batch it stands still. An export does not allow own writes: its
  connection streams the rows through an open cursor, and on SQLite a write on a connection with
  an open statement commits only when the statement ends. On SQLite the pulse writes it (WAL lets
  it write while the export reads).

Every write is conditional on the run (status running, this attempt): a run given up for stopped,
or finished, is not written over. The count is bookkeeping of a running job, not a change of its
state: no audit event (CONTRIBUTING.md).
"""

import logging
import threading
import time
from contextlib import contextmanager

from django.db import DatabaseError, connections, transaction
from django.utils import timezone

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 5.0
# How often the pulse writes a count that moved: the progress pages ask every second, and a
# short export (a few seconds) should still show its count move. One small UPDATE each time.
PROGRESS_SECONDS = 0.25


class Progress:
    """The running count of one claimed run of a job; see the module's docstring."""

    def __init__(self, job, *, own_writes: bool, pulse: bool):
        self.model, self.pk, self.attempt = type(job), job.pk, job.attempt
        self.own_writes = own_writes
        # Without a pulse (run inline inside someone's transaction, as in a test) the task's own
        # connection writes every count: no other connection could see it before the end anyway.
        self.pulse = pulse
        self._pending = None  # (done, total, phase) not yet written
        self._lock = threading.Lock()  # guards _pending
        self._write_lock = threading.Lock()  # orders the writes: the count never goes back

    def report(self, done: int, total: int, phase: str = "") -> None:
        """Note the count (counter() calls it about every 1 %); write it now where this
        connection may, else leave it to the pulse."""
        with self._lock:
            self._pending = (done, total, phase)
        if not self.pulse or (self.own_writes and not transaction.get_connection().in_atomic_block):
            self.write()

    def counter(self, total: int, phase: str = ""):
        """A callable `advance(n=1)` counting work done; it reports the count about every 1 %."""
        step = max(1, total // 100)
        count = {"done": 0, "reported": 0}
        self.report(0, total, phase)

        def advance(n: int = 1) -> None:
            count["done"] += n
            if count["done"] - count["reported"] >= step or count["done"] >= total:
                count["reported"] = count["done"]
                self.report(count["done"], total, phase)

        return advance

    def write(self, beat: bool = False) -> bool:
        """Write the pending count (and, with `beat`, the heartbeat alone if none is pending);
        False when this run no longer holds the job."""
        with self._write_lock:
            with self._lock:
                pending, self._pending = self._pending, None
            if pending is None and not beat:
                return True
            values = {"heartbeat_at": timezone.now()}
            if pending is not None:
                done, total, phase = pending
                values.update(progress_done=done, progress_total=total, progress_phase=phase)
            try:
                return bool(
                    self.model.objects.filter(
                        pk=self.pk, status=self.model.Status.RUNNING, attempt=self.attempt
                    ).update(**values)
                )
            except DatabaseError:  # the database busy or away a moment: write it next time
                with self._lock:
                    if self._pending is None:
                        self._pending = pending
                logger.info("%s %s: progress not written", self.model._meta.model_name, self.pk)
                return True


def _pulse(progress: Progress, stop: threading.Event, interval: float) -> None:
    tick = min(interval, PROGRESS_SECONDS)
    last_beat = time.monotonic()
    try:
        while not stop.wait(tick):
            beat = time.monotonic() - last_beat >= interval
            if beat:
                last_beat = time.monotonic()
            if not progress.write(beat=beat):
                return  # finished, or given up on by the sweep: nothing more to say
    finally:
        connections.close_all()  # this thread's own connections


@contextmanager
def heartbeat(job, interval: float = HEARTBEAT_SECONDS, *, own_writes: bool = True):
    """Keep `job` (claimed by this run) beating while the block runs; yields its Progress.

    `own_writes=False` when the task's connection must not write the count itself (an export
    streaming its rows through an open cursor)."""
    if transaction.get_connection().in_atomic_block:
        # Run inline inside someone's transaction (the ImmediateBackend in a test): no other
        # connection sees this run's row, so there is no one to tell.
        yield Progress(job, own_writes=True, pulse=False)
        return
    progress = Progress(job, own_writes=own_writes, pulse=True)
    stop = threading.Event()
    thread = threading.Thread(
        target=_pulse,
        args=(progress, stop, interval),
        name=f"heartbeat-{job._meta.model_name}-{job.pk}",
        daemon=True,
    )
    thread.start()
    try:
        yield progress
    finally:
        stop.set()
        thread.join()

"""The sweep rule "stopped_jobs": a background job whose worker stopped is marked failed.

Every running import and export beats (heartbeat.py). One whose last beat is older than
DUBAN_JOB_STALE_SECONDS lost its worker — killed, out of memory, the machine gone — and is marked
failed ("the worker stopped while it ran; nothing was written"), with an audit event and a note to
the person who asked; its page offers to run it again (actions.run_import_again,
run_export_again). The conditional update makes two sweepers safe: one of them gives it up.

Nothing half-done stays: an import commits its rows in batches, each noting on the job what it
wrote, and giving the job up deletes them again; a run that was given up on can write nothing more
(each batch and BackgroundJob.finish check the attempt; the import then undoes its batches). The job is not re-queued by itself: a file that killed one worker (more memory than
the machine has) would kill the next, round after round; a person decides.
"""

import datetime as dt
from collections import Counter

from django.conf import settings

from duban.supervision.sweep import rule

from .actions import give_up_stopped_job, stale_q
from .models import ExportJob, ImportJob


@rule("stopped_jobs")
def fail_stopped_jobs(now: dt.datetime) -> Counter:
    counts: Counter = Counter()
    cutoff = now - dt.timedelta(seconds=settings.DUBAN_JOB_STALE_SECONDS)
    for model, kind in ((ImportJob, "import_stopped"), (ExportJob, "export_stopped")):
        for job in model.objects.filter(stale_q(cutoff)).order_by("pk"):
            if give_up_stopped_job(job, cutoff=cutoff, now=now):
                counts[kind] += 1
    return counts

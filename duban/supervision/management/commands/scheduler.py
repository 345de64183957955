"""duban scheduler [--interval SECONDS]: a supervision sweep every interval, until stopped.

`make run` starts it beside the web server and the worker. Each sweep is idempotent and
safe beside another scheduler, so a restart or a second instance does no harm.
"""

import logging
import signal
import threading
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections, connection
from django.utils import timezone
from django.utils.translation import gettext as _

from duban.supervision.sweep import RULES, run_sweep

log = logging.getLogger("duban.supervision")


class Command(BaseCommand):
    help = "Run a supervision sweep every --interval seconds until stopped (Ctrl-C, SIGTERM)."

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=60.0, help="seconds between sweeps")
        parser.add_argument(
            "--sweeps", type=int, default=0, help="stop after this many sweeps (0: never)"
        )
        parser.add_argument(
            "--only", action="append", choices=sorted(RULES), help="run only this rule"
        )

    def handle(self, *args, interval, sweeps, only=None, **options):
        if interval < 0:
            raise CommandError(_("--interval must not be negative."))
        stop = threading.Event()
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, lambda *_args: stop.set())
        done = 0
        while not stop.is_set():
            started = time.monotonic()
            now = timezone.now()
            try:
                counts = run_sweep(now, only=only)
            except Exception:  # a failing sweep is logged; the next one runs as usual
                log.exception("sweep as of %s failed", now.isoformat())
                self.stderr.write(f"{now.isoformat()} sweep failed (see the log)")
            else:
                summary = ", ".join(f"{k}={v}" for k, v in sorted(counts.items())) or "nothing due"
                self.stdout.write(f"{now.isoformat()} sweep: {summary}")
            finally:
                # A long-running process drops broken or expired connections between sweeps
                # (not inside an enclosing transaction, as in a test).
                if not connection.in_atomic_block:
                    close_old_connections()
            done += 1
            if sweeps and done >= sweeps:
                break
            stop.wait(max(0.0, interval - (time.monotonic() - started)))

"""duban seed_scale --problems N: add a synthetic world of N problems, for benchmarks."""

import sys
import time

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from tqdm import tqdm

from duban.demo import scale


class Command(BaseCommand):
    help = "Add N synthetic problems (bulk-written, with links and pace bounds) for benchmarks."

    def add_arguments(self, parser):
        parser.add_argument("--problems", type=int, required=True, help="How many problems to add.")
        parser.add_argument(
            "--inspection",
            default=scale.DEFAULT_INSPECTION,
            help="Code of the inspection they belong to (created if missing).",
        )
        parser.add_argument("--batch", type=int, default=5000, help="Problems per transaction.")
        parser.add_argument(
            "--seed", type=int, default=None, help="Random seed (repeatable worlds)."
        )

    def handle(self, *args, problems, inspection, batch, seed, **options):
        if problems < 1:
            raise CommandError(_("--problems must be at least 1."))
        started = time.monotonic()
        with tqdm(total=problems, desc=_("Problems"), unit="", file=sys.stderr) as bar:
            summary = scale.seed(
                problems,
                inspection_code=inspection,
                batch=batch,
                progress=bar.update,
                rng_seed=seed,
            )
        self.stdout.write(
            _("Added %(n)d problems to %(code)s in %(s).1f s (ids %(first)s–%(last)s).")
            % {
                "n": problems,
                "code": summary["inspection"],
                "s": time.monotonic() - started,
                "first": summary["first_id"],
                "last": summary["last_id"],
            }
        )

"""duban seed_demo: load the Chinese demo world (湖州市) into an empty database."""

import sys
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.translation import gettext as _
from tqdm import tqdm

from duban.demo import builder, content
from duban.inspections.models import Inspection
from duban.ledger.models import Problem


class Command(BaseCommand):
    help = (
        "Load the demo world (湖州市, a central and a provincial inspection, one account per role)."
    )

    def handle(self, *args, **options):
        if Inspection.objects.exists():
            raise CommandError(
                _(
                    "The database already holds %(n)d inspection(s); seed_demo only loads an empty "
                    "database. Start from a new database (or remove var/duban.sqlite3) to load the demo."
                )
                % {"n": Inspection.objects.count()}
            )
        started = time.monotonic()
        with (
            tqdm(
                total=builder.problem_count(), desc=_("Demo problems"), unit="", file=sys.stderr
            ) as bar,
            transaction.atomic(),
        ):
            demo = builder.build(progress=bar.update)
        seconds = time.monotonic() - started

        self.stdout.write(
            _("Demo world loaded in %(s).1f s: %(p)d problems in %(i)d inspections.")
            % {"s": seconds, "p": Problem.objects.count(), "i": Inspection.objects.count()}
        )
        self.stdout.write("")
        self.stdout.write(_("Demo accounts (one per role, and an outsider):"))
        self._table(demo.accounts)
        self.stdout.write("")
        self.stdout.write(_("Other units' staff (same password):"))
        self._table(demo.staff)

    def _table(self, accounts):
        headers = [_("username"), _("password"), _("role"), _("unit"), _("name")]
        rows = [
            [a.username, content.DEMO_PASSWORD, a.role, a.unit, f"{a.name} {a.note}"]
            for a in accounts
        ]
        widths = [max(_width(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
        for row in [headers, ["-" * w for w in widths], *rows]:
            self.stdout.write(
                "  ".join(
                    str(c) + " " * (w - _width(str(c))) for c, w in zip(row, widths, strict=True)
                ).rstrip()
            )


def _width(text: str) -> int:
    """Display width: Chinese characters take two columns in a terminal."""
    return sum(2 if ord(c) > 0x2E80 else 1 for c in text)

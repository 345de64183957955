"""duban sweep [--now ISO-TIME] [--json]: one supervision sweep as of a given time."""

import datetime as dt
import json

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _

from duban.supervision.sweep import RULES, failed_rules, run_sweep


def parse_now(value: str | None) -> dt.datetime:
    if not value:
        return timezone.now()
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError as error:
        raise CommandError(
            _("--now: “%(value)s” is not an ISO time such as 2026-12-01T09:00+08:00.")
            % {"value": value}
        ) from error
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)  # the office's time zone (TIME_ZONE)
    return moment


class Command(BaseCommand):
    help = "Run one supervision sweep as of a given time and print what it did."

    def add_arguments(self, parser):
        parser.add_argument("--now", help="the time to sweep as of (ISO 8601); default: now")
        parser.add_argument("--json", action="store_true", help="print one JSON document")
        parser.add_argument(
            "--only", action="append", choices=sorted(RULES), help="run only this rule"
        )

    def handle(self, *args, **options):
        now = parse_now(options["now"])
        counts = run_sweep(now, only=options["only"])
        if options["json"]:
            document = {"now": now.isoformat(), "counts": dict(sorted(counts.items()))}
            self.stdout.write(json.dumps(document, ensure_ascii=False))
        else:
            self.stdout.write(_("sweep as of %(now)s") % {"now": now.isoformat()})
            if not counts:
                self.stdout.write(_("nothing was due"))
            for kind, count in sorted(counts.items()):
                self.stdout.write(f"{kind}: {count}")
        if failed := failed_rules(counts):
            raise CommandError(
                _("These rules failed (see the log): %(rules)s") % {"rules": ", ".join(failed)}
            )

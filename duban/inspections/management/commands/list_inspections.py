"""duban list_inspections [--json]: the inspections and how many problems each holds."""

import json

from django.core.management.base import BaseCommand
from django.db.models import Count
from django.utils.translation import gettext as _

from duban.inspections.models import Inspection


class Command(BaseCommand):
    help = "List the inspections with their problem counts."

    def add_arguments(self, parser):
        parser.add_argument(
            "--json",
            action="store_true",
            help='Print a JSON list of {"code", "name", "kind", "problems"}.',
        )

    def handle(self, *args, **options):
        rows = [
            {"code": i.code, "name": i.name, "kind": i.kind, "problems": i.problem_count}
            for i in Inspection.objects.annotate(problem_count=Count("problems")).order_by(
                "-feedback_date", "code"
            )
        ]
        if options["json"]:
            self.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2))
            return
        if not rows:
            self.stdout.write(_("No inspections yet."))
            return
        headers = {
            "code": _("code"),
            "kind": _("kind"),
            "problems": _("problems"),
            "name": _("name"),
        }
        widths = {k: max(len(str(headers[k])), *(len(str(r[k])) for r in rows)) for k in headers}
        self.stdout.write(
            f"{headers['code']:<{widths['code']}}  {headers['kind']:<{widths['kind']}}  "
            f"{headers['problems']:>{widths['problems']}}  {headers['name']}"
        )
        for r in rows:
            self.stdout.write(
                f"{r['code']:<{widths['code']}}  {r['kind']:<{widths['kind']}}  "
                f"{r['problems']:>{widths['problems']}}  {r['name']}"
            )

"""duban render_document KIND (--problem ID | --unit ID | --inspection CODE) [--format docx|pdf] -o FILE

KIND: closing_record (--problem), supervision_notice (--unit), progress_report and
public_notice (--inspection). The command line is the operator's tool and reads
the whole ledger; with --user it reads only what that user may see.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from duban.documents import rendering
from duban.inspections.models import Inspection
from duban.ledger.models import Problem
from duban.org.models import Unit

TARGETS = {
    "closing_record": "problem",
    "supervision_notice": "unit",
    "progress_report": "inspection",
    "public_notice": "inspection",
}


class Command(BaseCommand):
    help = "Render a document (.docx or PDF) of the ledger to a file."

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=rendering.KINDS)
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--problem", type=int, help="Problem id (closing_record).")
        target.add_argument("--unit", type=int, help="Unit id (supervision_notice).")
        target.add_argument(
            "--inspection", help="Inspection code (progress_report, public_notice)."
        )
        parser.add_argument(
            "--format",
            choices=rendering.FORMATS,
            help="docx or pdf; by default taken from the output file's extension.",
        )
        parser.add_argument("-o", "--output", required=True, help="The file to write.")
        parser.add_argument("--user", help="Read only what this user may see.")

    def handle(self, *args, kind, output, **options):
        fmt = options["format"] or Path(output).suffix.lstrip(".").lower()
        if fmt not in rendering.FORMATS:
            raise CommandError(_("Give --format docx or pdf, or an output file ending in one."))
        needed = TARGETS[kind]
        if options[needed] is None:
            raise CommandError(_("%(kind)s needs --%(target)s.") % {"kind": kind, "target": needed})
        problems = self._problems(options["user"])
        data = self._document(kind, options, problems)
        Path(output).write_bytes(rendering.render(data, fmt))
        self.stdout.write(output)

    def _problems(self, username):
        if not username:
            return Problem.objects.all()
        from duban.accounts.models import User

        try:
            return Problem.objects.visible_to(User.objects.get(username=username))
        except User.DoesNotExist:
            raise CommandError(_("No such user: %(name)s") % {"name": username}) from None

    def _document(self, kind, options, problems):
        if kind == "closing_record":
            problem = problems.filter(pk=options["problem"]).first()
            if problem is None:
                raise CommandError(_("No such problem: %(id)s") % {"id": options["problem"]})
            if rendering.closing_application_of(problem) is None:
                raise CommandError(_("This problem has no closing application yet."))
            return rendering.closing_record(problem)
        if kind == "supervision_notice":
            unit = Unit.objects.filter(pk=options["unit"]).first()
            if unit is None:
                raise CommandError(_("No such unit: %(id)s") % {"id": options["unit"]})
            return rendering.supervision_notice(unit, problems)
        inspection = Inspection.objects.filter(code=options["inspection"]).first()
        if inspection is None:
            raise CommandError(_("No such inspection: %(code)s") % {"code": options["inspection"]})
        if kind == "progress_report":
            return rendering.progress_report(inspection, problems)
        return rendering.public_notice(inspection, problems)

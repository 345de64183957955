"""duban export_ledger --inspection CODE -o FILE.xlsx [--user USERNAME]: the ledger as .xlsx."""

import sys

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from tqdm import tqdm

from duban.accounts.models import User
from duban.documents.exporting import default_title, write_ledger
from duban.inspections.models import Inspection
from duban.ledger.models import Problem


class Command(BaseCommand):
    help = "Export an inspection's rectification ledger (整改情况台账) as .xlsx."

    def add_arguments(self, parser):
        parser.add_argument("--inspection", required=True, help="Code of the inspection.")
        parser.add_argument("-o", "--output", required=True, help="The .xlsx file to write.")
        parser.add_argument(
            "--user",
            help="Export only what this user may see (default: every problem of the inspection).",
        )

    def handle(self, *args, inspection, output, user, **options):
        found = Inspection.objects.filter(code=inspection).first()
        if found is None:
            raise CommandError(_("No inspection with the code %(code)s.") % {"code": inspection})
        problems = Problem.objects.filter(inspection=found)
        exported_by = ""
        if user:
            account = User.objects.filter(username=user).first()
            if account is None:
                raise CommandError(_("No user named %(name)s.") % {"name": user})
            problems = Problem.objects.visible_to(account).filter(inspection=found)
            exported_by = account.display_name or account.username
        problems = problems.order_by("id")
        with tqdm(total=problems.count(), desc=_("Problems"), unit="", file=sys.stderr) as bar:
            count = write_ledger(
                problems,
                output,
                title=default_title(found.name),
                exported_by=exported_by,
                progress=bar.update,
            )
        self.stdout.write(_("Wrote %(n)d problems to %(file)s.") % {"n": count, "file": output})

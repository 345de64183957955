"""duban import_ledger FILE [--inspection CODE] [--dry-run] [--create-units] [--json] [--as USER]

Reads a rectification list (.xlsx, .xls, .csv), shows every row and every error,
and — unless --dry-run or anything is wrong — registers all its problems in one
transaction. Exit status 1 when there are errors; then nothing is written.
"""

import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from tqdm import tqdm

from duban.accounts.models import User
from duban.documents.importing import importer
from duban.inspections.models import Inspection

# Below this many rows a progress bar is only noise.
PROGRESS_FROM_ROWS = 500


def _progress(iterable, total=None, desc=None):
    return tqdm(
        iterable,
        total=total,
        desc=desc,
        unit="",
        file=sys.stderr,
        disable=(total or 0) < PROGRESS_FROM_ROWS,
        leave=False,
    )


class Command(BaseCommand):
    help = (
        "Import a rectification list (.xlsx, .xls or .csv). The import runs as --as USERNAME, "
        "by default the first active office user whose region covers the inspection's region "
        "(offices of the widest region first, then the oldest account)."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="The list: .xlsx, .xls or .csv.")
        parser.add_argument("--inspection", help="Code of the inspection to import into.")
        parser.add_argument(
            "--dry-run", action="store_true", help="Parse and validate only; write nothing."
        )
        parser.add_argument(
            "--create-units",
            action="store_true",
            help="Create unknown units as departments in the region of the importing office.",
        )
        parser.add_argument("--json", action="store_true", help="Print one JSON document.")
        parser.add_argument(
            "--as", dest="username", help="The office user the import runs as (see above)."
        )

    def handle(self, *args, **options):
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(_("No such file: %(path)s") % {"path": path})
        inspection, actor = None, None
        if options["inspection"]:
            inspection = Inspection.objects.filter(code=options["inspection"]).first()
            if inspection is None:
                raise CommandError(
                    _("No inspection with the code %(code)s.") % {"code": options["inspection"]}
                )
        elif not options["dry_run"]:
            raise CommandError(_("Give --inspection CODE, or --dry-run to only check the file."))
        if options["username"]:
            actor = User.objects.filter(username=options["username"], is_active=True).first()
            if actor is None:
                raise CommandError(
                    _("No active user %(username)s.") % {"username": options["username"]}
                )
        elif inspection is not None:
            actor = importer.default_actor(inspection)
            if actor is None and not options["dry_run"]:
                raise CommandError(
                    _("No office user covers this inspection's region; give --as USERNAME.")
                )
        with path.open("rb") as handle:
            result = importer.import_file(
                handle,
                path.name,
                inspection=inspection,
                by=actor,
                dry_run=options["dry_run"],
                create_units=options["create_units"],
                progress=_progress,
            )
        if options["json"]:
            self.stdout.write(json.dumps(result.as_json(), ensure_ascii=False, indent=2))
        else:
            self._print(result, options["dry_run"])
        if not result.ok:
            raise CommandError(
                _("%(count)d error(s); nothing was written.") % {"count": len(result.errors)},
                returncode=1,
            )

    def _print(self, result, dry_run):
        for error in result.errors:
            where = " ".join(
                str(part)
                for part in (
                    error.sheet,
                    error.row and _("row %(row)d") % {"row": error.row},
                    error.column and f"[{error.column}]",
                )
                if part
            )
            self.stderr.write(f"{where}: {error.message}" if where else error.message)
        if result.unknown_units:
            self.stderr.write(
                _("Unknown units: %(units)s") % {"units": "、".join(result.unknown_units)}
            )
        if result.ok and dry_run:
            self.stdout.write(
                _("%(count)d problem(s) read; nothing written (dry run).")
                % {"count": len(result.rows)}
            )
        elif result.ok:
            self.stdout.write(_("%(count)d problem(s) registered.") % {"count": result.created})

"""duban backup --to DIR: the database, the media files and a manifest vouching for both."""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from tqdm import tqdm

from duban.audit.backup import BackupError, Progress, backup, sha256_of


class Command(BaseCommand):
    help = (
        "Back up the database (pg_dump or SQLite's online backup), the media files and a "
        "manifest with the audit chain head, row counts and file hashes into a new folder."
    )

    def add_arguments(self, parser):
        parser.add_argument("--to", required=True, type=Path, help="A new (or empty) folder.")
        parser.add_argument(
            "--no-progress", action="store_true", help="Do not draw the progress bar on stderr."
        )

    def handle(self, *args, **options):
        bar = tqdm(desc=_("Media files"), unit="", file=sys.stderr, disable=options["no_progress"])
        progress = Progress(start=lambda total: bar.reset(total=total), advance=bar.update)
        try:
            with bar:
                manifest = backup(options["to"], progress)
        except BackupError as error:
            raise CommandError(str(error)) from None
        head = manifest["chain_head"]
        self.stdout.write(
            _(
                "Backup written to %(path)s: %(files)d media files; audit chain head #%(seq)d %(hash)s; manifest sha256 %(manifest)s"
            )
            % {
                "path": options["to"],
                "files": len(manifest["media"]),
                "seq": head["seq"],
                "hash": head["hash"],
                "manifest": sha256_of(options["to"] / "manifest.json"),
            }
        )

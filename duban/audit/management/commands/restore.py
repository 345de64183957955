"""duban restore --from DIR: load a backup into an empty database and media folder."""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from tqdm import tqdm

from duban.audit.backup import MANIFEST, BackupError, Progress, restore, sha256_of


class Command(BaseCommand):
    help = (
        "Restore a backup made by `duban backup` into an empty database (DATABASE_URL) and an "
        "empty media folder (MEDIA_ROOT); refuses anything that does not match its manifest."
    )

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="source", required=True, type=Path)
        parser.add_argument(
            "--expect-manifest",
            metavar="SHA256",
            help="The manifest's sha256 printed by the backup, noted outside; refuse another.",
        )
        parser.add_argument(
            "--no-progress", action="store_true", help="Do not draw the progress bar on stderr."
        )

    def handle(self, *args, **options):
        source = options["source"]
        expected = (options["expect_manifest"] or "").strip().lower()
        if expected and (source / MANIFEST).is_file():
            if sha256_of(source / MANIFEST) != expected:
                raise CommandError(
                    _("%(path)s is not the manifest you noted (its sha256 differs): refused.")
                    % {"path": source / MANIFEST}
                )
        bar = tqdm(
            desc=_("Media files checked"), unit="", file=sys.stderr, disable=options["no_progress"]
        )
        progress = Progress(start=lambda total: bar.reset(total=total), advance=bar.update)
        try:
            with bar:
                manifest = restore(source, progress)
        except BackupError as error:
            raise CommandError(str(error)) from None
        head = manifest["chain_head"]
        self.stdout.write(
            _(
                "Restored from %(path)s: %(files)d media files; audit chain verified to head #%(seq)d %(hash)s"
            )
            % {
                "path": source,
                "files": len(manifest["media"]),
                "seq": head["seq"],
                "hash": head["hash"],
            }
        )

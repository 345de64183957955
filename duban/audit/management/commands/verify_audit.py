"""duban verify_audit [--json] [--expect SEQ:HASH ...] [--every-note]: check the audit log.

Walks the whole hash chain (`--workers N` processes hash it while this one reads;
one per core by default, 0 for none), then checks it against heads noted outside the
database: each `--expect SEQ:HASH` an auditor wrote down, and the heads noted in
DUBAN_AUDIT_HEAD_FILE after every commit (the newest hundred and a sample back to
the first; `--every-note` checks every line). Exit status 0 when all hold; 1 naming
the first broken event and why (edited, missing, out of order, the tail cut off,
or a noted head the chain no longer holds: cut back, rewritten or emptied).
"""

import json
import sys

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from tqdm import tqdm

from duban.audit import heads
from duban.audit.log import chain_head, default_workers, verify_against_heads


class Command(BaseCommand):
    help = (
        "Verify the audit log's hash chain and the heads noted outside it; "
        "exit 1 naming the first broken event."
    )

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print the verdict as JSON.")
        parser.add_argument(
            "--no-progress", action="store_true", help="Do not draw the progress bar on stderr."
        )
        parser.add_argument(
            "--expect",
            action="append",
            default=[],
            metavar="SEQ:HASH",
            help="A chain head noted outside the system; the event SEQ must have this hash "
            "(repeatable).",
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=default_workers(),
            metavar="N",
            help="Processes that hash the chain while this one reads it (default: one per "
            "CPU core; 0 hashes in this process).",
        )
        parser.add_argument(
            "--every-note",
            action="store_true",
            help="Check every head noted in DUBAN_AUDIT_HEAD_FILE, not the newest and a sample.",
        )

    def handle(self, *args, **options):
        if options["workers"] < 0:
            raise CommandError(_("--workers must be 0 or more."), returncode=2)
        try:
            expected = [heads.parse_expected(text) for text in options["expect"]]
        except ValueError as error:
            raise CommandError(str(error), returncode=2) from None
        total, _hash = chain_head()
        with tqdm(
            total=total,
            desc=_("Audit events"),
            unit="",
            file=sys.stderr,
            disable=options["no_progress"],
            mininterval=0.5,
        ) as bar:
            pending = [0]

            def tick(n):
                # verify() reports every event; the bar is redrawn per thousand.
                pending[0] += n
                if pending[0] >= 1000:
                    bar.update(pending[0])
                    pending[0] = 0

            verdict = verify_against_heads(
                expected,
                every_note=options["every_note"],
                progress=tick,
                workers=options["workers"],
            )
            bar.update(pending[0])

        for warning in verdict.warnings:
            self.stderr.write(_("Warning: %(warning)s") % {"warning": warning})
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "ok": verdict.ok,
                        "checked": verdict.checked,
                        "head_seq": verdict.head_seq,
                        "head_hash": verdict.head_hash,
                        "broken_seq": verdict.broken_seq,
                        "reason": verdict.reason,
                        "heads_checked": verdict.heads_checked,
                        "warnings": list(verdict.warnings),
                    }
                )
            )
        elif verdict.ok:
            self.stdout.write(
                _(
                    "Audit chain intact: %(n)d events checked, %(noted)d noted heads match; head #%(seq)d %(hash)s"
                )
                % {
                    "n": verdict.checked,
                    "noted": verdict.heads_checked,
                    "seq": verdict.head_seq,
                    "hash": verdict.head_hash,
                }
            )
        if verdict.ok:
            return
        # CommandError: the message goes to stderr and the exit status is 1.
        if verdict.noted_head_mismatch:
            raise CommandError(
                _(
                    "Audit chain BROKEN at event #%(seq)s: %(reason)s (a noted head no longer matches)"
                )
                % {"seq": verdict.broken_seq, "reason": verdict.reason}
            )
        raise CommandError(
            _(
                "Audit chain BROKEN at event #%(seq)s: %(reason)s (%(n)d events before it are intact)"
            )
            % {"seq": verdict.broken_seq, "reason": verdict.reason, "n": verdict.checked}
        )

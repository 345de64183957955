"""duban verify_audit [--json]: check the whole hash chain of the audit log.

Exit status 0 when the chain is intact; 1 when it is broken, naming the first
broken event and why (edited, missing, out of order, or the tail cut off).
"""

import json
import sys

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from tqdm import tqdm

from duban.audit.log import chain_head, verify


class Command(BaseCommand):
    help = "Verify the audit log's hash chain; exit 1 naming the first broken event."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print the verdict as JSON.")
        parser.add_argument(
            "--no-progress", action="store_true", help="Do not draw the progress bar on stderr."
        )

    def handle(self, *args, **options):
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

            verdict = verify(progress=tick)
            bar.update(pending[0])

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
                    }
                )
            )
        elif verdict.ok:
            self.stdout.write(
                _("Audit chain intact: %(n)d events checked; head #%(seq)d %(hash)s")
                % {"n": verdict.checked, "seq": verdict.head_seq, "hash": verdict.head_hash}
            )
        if not verdict.ok:
            # CommandError: the message goes to stderr and the exit status is 1.
            raise CommandError(
                _(
                    "Audit chain BROKEN at event #%(seq)s: %(reason)s (%(n)d events before it are intact)"
                )
                % {"seq": verdict.broken_seq, "reason": verdict.reason, "n": verdict.checked}
            )

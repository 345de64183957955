"""duban split_feedback FILE [--json]: a feedback report (督察反馈意见) split into candidate problems.

See duban/documents/feedback.py for the numbering read and the form of each field.
"""

import json

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from duban.documents.feedback import FeedbackError, split_feedback_file


class Command(BaseCommand):
    help = "Split a feedback report (.docx, .txt or a PDF with text) into candidate problems."

    def add_arguments(self, parser):
        parser.add_argument("file", help="The report: .docx, .txt (UTF-8 or GB18030) or .pdf.")
        parser.add_argument(
            "--json",
            action="store_true",
            help='Print {"items": [{"number", "heading_path", "text"}]}.',
        )

    def handle(self, *args, **options):
        try:
            candidates = split_feedback_file(options["file"])
        except FeedbackError as error:
            raise CommandError(str(error)) from error
        if options["json"]:
            items = [c.as_dict() for c in candidates]
            self.stdout.write(json.dumps({"items": items}, ensure_ascii=False, indent=2))
            return
        if not candidates:
            self.stdout.write(_("No candidate problems found."))
            return
        path = None
        for candidate in candidates:
            if candidate.heading_path != path:
                path = candidate.heading_path
                self.stdout.write("")
                self.stdout.write(" › ".join(path))
            number = f"[{candidate.number}] " if candidate.number else ""
            text = candidate.text.replace("\n", "\n    ")
            self.stdout.write(f"  {number}{text}")
        self.stdout.write("")
        self.stdout.write(_("%(count)d candidate problems.") % {"count": len(candidates)})

"""duban transitions [--mermaid | --update-readme [PATH]]: the life of a problem, from its table."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from duban.ledger import transitions
from duban.ledger.transitions import SYSTEM, TABLE


class Command(BaseCommand):
    help = (
        "Print the transition table: every action, the states it moves a problem from and to, "
        "and who takes it; or the life-cycle diagram drawn from it."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--mermaid",
            action="store_true",
            help="Print the life-cycle diagram as a Mermaid block (as the README shows it).",
        )
        parser.add_argument(
            "--update-readme",
            nargs="?",
            const=str(settings.PROJECT_DIR / "README.md"),
            metavar="PATH",
            help="Replace the diagram between the README's transitions:mermaid markers.",
        )

    def handle(self, *args, **options):
        if options["update_readme"]:
            return self._update(Path(options["update_readme"]))
        if options["mermaid"]:
            self.stdout.write(f"```mermaid\n{transitions.mermaid()}```")
            return
        for t in TABLE.values():
            who = _("system") if t.actor == SYSTEM else ", ".join(t.roles)
            to = [str(t.target) if t.target else _("(stays)"), *map(str, t.also)]
            hidden = "" if t.button else "  (" + _("no button") + ")"
            self.stdout.write(
                f"{t.name:22} {' | '.join(t.sources)} → {' | '.join(to)}  [{who}]{hidden}"
            )

    def _update(self, path: Path):
        try:
            text = path.read_text(encoding="utf-8")
            updated = transitions.replace_mermaid_block(text)
        except (OSError, ValueError) as error:
            raise CommandError(str(error)) from None
        if updated == text:
            self.stdout.write(_("%(path)s already shows the current diagram.") % {"path": path})
            return
        path.write_text(updated, encoding="utf-8")
        self.stdout.write(_("Updated the diagram in %(path)s.") % {"path": path})

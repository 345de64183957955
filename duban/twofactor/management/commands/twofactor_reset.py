"""duban twofactor_reset USERNAME: remove a user's lost authenticator from the server's console.

For the accounts no administrator manages on the pages (the system and audit administrators):
whoever runs it has the server itself. Audited; the user is told at once.
"""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from duban.accounts.models import User
from duban.core.exceptions import ActionError
from duban.twofactor import actions


class Command(BaseCommand):
    help = "Reset a user's two-factor login (lost phone and recovery codes)."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(_("No user is called “%(name)s”.") % {"name": username})
        try:
            actions.reset_by_administrator(user, by=None)
        except ActionError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            _(
                "Two-factor login of %(user)s was reset; they set up a new authenticator at their next login."
            )
            % {"user": user}
        )

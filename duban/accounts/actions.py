"""A user's own API tokens: issuing and revoking them, each with its audit event.

A token is a standing credential to the API, so who made or dropped one, and when,
belongs in the audit log like any other change. The raw key never reaches the log:
the event names the token (its row, and its name), never the key or its hash.
"""

from django.db import transaction
from django.utils.translation import gettext as _

from duban.audit import log as audit
from duban.ledger.actions import InvalidInput, NotAllowed

from .models import ApiToken

# Tokens belong to the person, not to one of his roles: the events carry no acting role.
NO_ROLE = ""


def issue_token(*, by, name: str) -> tuple[ApiToken, str]:
    """A new token of `by`'s, and its raw key (to show once; it is not stored)."""
    name = name.strip()
    if not name:
        raise InvalidInput(_("Give the token a name."), field="name")
    with transaction.atomic():
        token, raw = ApiToken.issue(by, name)
        audit.record(
            actor=by, role=NO_ROLE, action="token.create", target=token, after={"name": name}
        )
    return token, raw


def revoke_token(token: ApiToken, *, by) -> None:
    """Delete one of `by`'s own tokens; calls with it fail from now on."""
    if token.user_id != by.pk:
        # The views answer 404 before this; the check keeps the rule in the action too.
        raise NotAllowed(_("This token is not yours."))
    with transaction.atomic():
        audit.record(
            actor=by, role=NO_ROLE, action="token.revoke", target=token, before={"name": token.name}
        )
        token.delete()

"""The errors an action raises when it cannot be taken, shared by every app's actions.

They live at the bottom layer so that any app may raise and catch them without importing
the ledger. Views turn them into messages on the page (duban.core.http.show_action_error)
and the API into 4xx answers.
"""


class ActionError(Exception):
    """An action that cannot be taken; the message says why, for the person who tried."""


class NotAllowed(ActionError):
    """The actor can see the problem but has no role that may take this action."""


class WrongState(ActionError):
    pass


class Conflict(ActionError):
    """Someone else changed the problem first; reload and try again."""


class InvalidInput(ActionError):
    def __init__(self, message, field=None):
        super().__init__(message)
        self.field = field

"""How this app's audit events (and the ledger's objection decisions) read on a problem's timeline."""

from django.utils.translation import gettext_lazy as _


def register():
    from duban.ledger.timeline import register_labels

    register_labels(
        {
            "supervision.remind.deadline": _("Reminder: the deadline is near"),
            "supervision.remind.milestone": _("Reminder: a milestone is near"),
            "supervision.report.missing": _("Progress report missing"),
            "supervision.report.received": _("Missing progress report received"),
            "supervision.report.head_reminded": _(
                "Progress report still missing: the unit head was reminded"
            ),
            "notice.objection.received": _("Objection received, to be decided"),
            "notice.objection.upheld": _("Objection decided: upheld"),
            "notice.objection.dismissed": _("Objection decided: dismissed"),
        }
    )

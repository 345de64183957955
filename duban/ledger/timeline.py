"""A problem's timeline: its audit events, told in words people read.

The audit log is the record (every transition, report, signature, review and
file writes one event in the same transaction); this module only labels it.
"""

import datetime as dt
from dataclasses import dataclass, field

from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from duban.audit.models import AuditEvent
from duban.inspections.models import ACCEPTANCE_LEVEL_CHOICES
from duban.org.models import Role

from .models import State

LABELS = {
    "problem.create": gettext_lazy("Registered"),
    "problem.edit": gettext_lazy("Edited"),
    "problem.split": gettext_lazy("Split into child problems"),
    "assign": gettext_lazy("Assigned to the lead unit"),
    "claim": gettext_lazy("Claimed"),
    "plan.save": gettext_lazy("Plan drafted"),
    "plan.submit": gettext_lazy("Plan submitted"),
    "plan.approve": gettext_lazy("Plan approved"),
    "plan.approve.note": gettext_lazy("Note on the plan approval"),
    "plan.return": gettext_lazy("Plan returned"),
    "progress.report": gettext_lazy("Progress reported"),
    "evidence.upload": gettext_lazy("File uploaded"),
    "evidence.review": gettext_lazy("File reviewed"),
    "evidence.file_changed": gettext_lazy("Stored file found changed on disk; not served"),
    "extension.request": gettext_lazy("Extension requested"),
    "extension.approved": gettext_lazy("Extension approved"),
    "extension.rejected": gettext_lazy("Extension rejected"),
    "closing.apply": gettext_lazy("Applied for closing"),
    "closing.application": gettext_lazy("Closing application filed"),
    "closing.edit": gettext_lazy("Closing application edited"),
    "closing.withdraw": gettext_lazy("Closing application withdrawn"),
    "closing.sign": gettext_lazy("Signed by the unit head"),
    "closing.endorse": gettext_lazy("Endorsed by the lead official"),
    "acceptance.start": gettext_lazy("Acceptance started"),
    "acceptance.accept": gettext_lazy("Accepted"),
    "acceptance.return": gettext_lazy("Returned by acceptance"),
    "notice.open": gettext_lazy("Public notice opened"),
    "notice.objection": gettext_lazy("Objection upheld"),
    "notice.objection.text": gettext_lazy("Objection recorded"),
    "close": gettext_lazy("Closed (销号)"),
}


def register_labels(labels: dict) -> None:
    """Other apps name their own audit actions on the timeline (call from AppConfig.ready)."""
    clash = set(labels) & set(LABELS)
    if clash:
        raise ValueError(f"timeline labels defined twice: {sorted(clash)}")
    LABELS.update(labels)


@dataclass
class TimelineEntry:
    seq: int
    at: dt.datetime
    action: str
    label: str
    actor: str
    role: str
    details: list[str] = field(default_factory=list)


def _state_label(value) -> str:
    try:
        return str(State(value).label)
    except ValueError:
        return str(value)


def _role_label(value: str) -> str:
    try:
        return str(Role(value).label)
    except ValueError:
        return value


def _level_label(value) -> str:
    return str(dict(ACCEPTANCE_LEVEL_CHOICES).get(value, value or ""))


def _short(digest) -> str:
    return (digest or "")[:12]


def _date(value) -> str:
    parsed = parse_date(value) if isinstance(value, str) else None
    return parsed.isoformat() if parsed else (value or "—")


def _details(event: AuditEvent) -> list[str]:
    before, after, action = event.before or {}, event.after or {}, event.action
    lines = []
    if "state" in after and before.get("state") and before["state"] != after["state"]:
        lines.append(f"{_state_label(before['state'])} → {_state_label(after['state'])}")
    if action == "problem.edit":
        changed = sorted(set(before) | set(after))
        if changed:
            lines.append(_("Changed: %(fields)s") % {"fields": ", ".join(changed)})
    elif action == "plan.save":
        count = len(after.get("measures", []))
        lines.append(ngettext("%(n)d measure", "%(n)d measures", count) % {"n": count})
    elif action == "progress.report":
        lines.append(
            _("%(period)s: %(percent)s%%")
            % {"period": after.get("period", ""), "percent": after.get("percent", "")}
        )
        if after.get("text"):
            lines.append(after["text"])
    elif action == "evidence.upload":
        lines.append(
            f"{after.get('category', '')}: {after.get('name', '')}"
            f" · sha256 {_short(after.get('sha256'))}"
        )
    elif action == "extension.request":
        lines.append(
            _("New deadline %(new)s (was %(old)s)")
            % {"new": _date(after.get("new_deadline")), "old": _date(before.get("deadline"))}
        )
        if after.get("reasons"):
            lines.append(after["reasons"])
    elif action in ("extension.approved", "extension.rejected"):
        lines.append(
            _("Deadline %(old)s → %(new)s")
            % {"old": _date(before.get("deadline")), "new": _date(after.get("deadline"))}
        )
    elif action in ("closing.application", "closing.edit"):
        lines.append(_("Content hash %(hash)s") % {"hash": _short(after.get("content_hash"))})
        if after.get("voided_signatures"):
            count = len(after["voided_signatures"])
            lines.append(
                ngettext("%(n)d signature voided", "%(n)d signatures voided", count) % {"n": count}
            )
    elif action in ("closing.sign", "closing.endorse"):
        lines.append(after.get("statement", ""))
        lines.append(
            _("Signed content hash %(hash)s") % {"hash": _short(after.get("content_hash"))}
        )
    elif action == "acceptance.start":
        lines.append(_level_label(after.get("level")))
    elif action == "acceptance.accept":
        lines.append(_level_label(after.get("level")))
        lines.append(after.get("site_check", ""))
    elif action == "acceptance.return":
        lines.append(_level_label(before.get("level")))
        lines.append(after.get("reasons", ""))
    elif action == "notice.open":
        lines.append(
            _("%(start)s to %(end)s (%(days)s working days)")
            % {
                "start": _date(after.get("starts_on")),
                "end": _date(after.get("ends_on")),
                "days": after.get("working_days", ""),
            }
        )
    for key in ("note", "reasons", "text"):
        value = after.get(key)
        if value and value not in lines and action not in ("progress.report",):
            lines.append(value)
    return [line for line in lines if line]


def timeline(problem_id: int) -> list[TimelineEntry]:
    """Every audit event of the problem, oldest first, with a readable label."""
    events = AuditEvent.objects.filter(problem_id=problem_id).order_by("seq")
    return [
        TimelineEntry(
            seq=event.seq,
            at=event.at,
            action=event.action,
            label=str(LABELS.get(event.action, event.action)),
            actor=event.actor_name if event.actor_id is not None else _("System"),
            role=_role_label(event.role) if event.role else "",
            details=_details(event),
        )
        for event in events
    ]

"""审计日志 pages for the audit administrator: read the events, verify the chain, export.

Only the `auditor` role reads the log (三员分立): everyone else gets 403 on the
pages without an object and 404 on an event, so nobody else learns which events
exist. The log holds no complainant personal data, but it does hold business
texts; auditors must see them to check what changed.

Built for millions of events: pages are cut by `seq` (keyset, `?before=` /
`?after=`) and never count the table; the export streams in chunks by `seq`.
"""

import csv
import json
import logging
import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from duban.core.http import form_methods, read_only
from duban.org.models import Role
from duban.org.scope import roles_of

from . import heads, log
from .filters import AuditFilterForm, target_types
from .log import HASHED_FIELDS
from .models import GENESIS_HASH, AuditEvent

logger = logging.getLogger("duban.audit")

EXPORT_CHUNK = 2000
ROLE_LABELS = dict(Role.choices)


def is_auditor(user) -> bool:
    return Role.AUDITOR in roles_of(user)


def _refused(request):
    message = _("Only the audit administrator reads the audit log.")
    return render(request, "audit/refused.html", {"message": message}, status=403)


def _positive_int(raw) -> int | None:
    try:
        value = int(raw)
    except (TypeError, ValueError):
        return None
    return value if value > 0 else None


# --- what a row shows ---------------------------------------------------------------------------


def _as_dict(value) -> dict:
    return value if isinstance(value, dict) else {"": value}


def changes(before, after) -> list[tuple[str, object, object]]:
    """The keys whose value differs between before and after, as (key, old, new); absent is None."""
    before, after = _as_dict(before), _as_dict(after)
    keys = sorted(set(before) | set(after))
    return [
        (key, before.get(key), after.get(key)) for key in keys if before.get(key) != after.get(key)
    ]


def _text(value) -> str:
    if value is None:
        return "∅"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _short(value, width: int = 40) -> str:
    text = _text(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def short_diff(event, limit: int = 3) -> dict:
    """The first few changed keys of an event, each value cut short, for the list."""
    changed = changes(event.before, event.after)
    return {
        "items": [(key, _short(old), _short(new)) for key, old, new in changed[:limit]],
        "more": max(0, len(changed) - limit),
    }


# --- the list -----------------------------------------------------------------------------------


def _keyset_page(queryset, request, size: int) -> tuple[list, dict]:
    """One page newest first, cut by seq: `?before=` goes back in time, `?after=` forward."""
    before = _positive_int(request.GET.get("before"))
    after = None if before else _positive_int(request.GET.get("after"))
    if after:
        rows = list(queryset.filter(seq__gt=after).order_by("seq")[: size + 1])
        has_newer = len(rows) > size
        rows = rows[:size][::-1]
        has_older = queryset.filter(seq__lte=after).exists()
    else:
        newer = queryset.filter(seq__lt=before) if before else queryset
        rows = list(newer.order_by("-seq")[: size + 1])
        has_older = len(rows) > size
        rows = rows[:size]
        has_newer = bool(before) and queryset.filter(seq__gte=before).exists()
    page = {
        "has_newer": has_newer,
        "has_older": has_older,
        # With no row on the page, step from where the page started.
        "newer_after": rows[0].seq if rows else (before or 1) - 1,
        "older_before": rows[-1].seq if rows else (after or 0) + 1,
        "is_newest": not before and not after,
    }
    return rows, page


def _usernames(rows) -> dict[int, str]:
    ids = {row.actor_id for row in rows if row.actor_id is not None}
    if not ids:
        return {}
    return dict(get_user_model().objects.filter(pk__in=ids).values_list("pk", "username"))


def _list_page(request, form, status=200):
    size = settings.DUBAN_PAGE_SIZE
    if form.is_valid():
        rows, page = _keyset_page(form.apply(AuditEvent.objects.all()), request, size)
    else:
        # A filter we cannot read lists nothing rather than quietly listing everything.
        rows, page, status = [], {}, 400
    usernames = _usernames(rows)
    for row in rows:
        row.diff = short_diff(row)
        row.role_label = ROLE_LABELS.get(row.role, row.role)
        row.username = usernames.get(row.actor_id, "")
    head_seq, head_hash = log.chain_head()
    context = {
        "form": form,
        "events": rows,
        "page": page,
        "head_seq": head_seq,
        "head_hash": head_hash,
        "target_types": target_types(),
        "filtered": form.is_filtered,
    }
    return render(request, "audit/event_list.html", context, status=status)


@login_required
def event_list(request):
    if not is_auditor(request.user):
        return _refused(request)
    if refused := read_only(request):
        return refused
    return _list_page(request, AuditFilterForm(request.GET))


# --- one event ----------------------------------------------------------------------------------


def _pretty(value) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, indent=2)


@login_required
def event_detail(request, seq):
    # Not the auditor: as if the event did not exist.
    if not is_auditor(request.user):
        raise Http404
    if refused := read_only(request):
        return refused
    event = AuditEvent.objects.filter(seq=seq).first()
    if event is None:
        raise Http404
    previous = AuditEvent.objects.filter(seq=seq - 1).values_list("hash", flat=True).first()
    expected_prev = GENESIS_HASH if seq == 1 else previous
    fields = {name: getattr(event, name) for name in HASHED_FIELDS}
    context = {
        "event": event,
        "role_label": ROLE_LABELS.get(event.role, event.role),
        "actor": get_user_model().objects.filter(pk=event.actor_id).first()
        if event.actor_id
        else None,
        "changes": [
            (key, _text(old), _text(new)) for key, old, new in changes(event.before, event.after)
        ],
        "before_json": _pretty(event.before),
        "after_json": _pretty(event.after),
        # This link alone; the whole chain is checked by verify.
        "hash_matches": log.event_hash(fields, event.prev_hash) == event.hash
        and log.shown_time_matches(event.at, event.at_text),
        "follows_previous": expected_prev == event.prev_hash,
        "has_previous": previous is not None,
        "has_next": AuditEvent.objects.filter(seq=seq + 1).exists(),
    }
    return render(request, "audit/event_detail.html", context)


# --- verify the chain ---------------------------------------------------------------------------


@login_required
def verify(request):
    """Walk the whole chain, synchronously; on millions of events `duban verify_audit` shows progress."""
    if not is_auditor(request.user):
        return _refused(request)
    if refusal := form_methods(request):
        return refusal
    context = {"verdict": None, "expect": ""}
    status, expected = 200, None
    if request.method == "POST":
        context["expect"] = expect = request.POST.get("expect", "").strip()
        try:
            expected = [heads.parse_expected(expect)] if expect else []
        except ValueError as error:
            expected, status = None, 400
            context["expect_error"] = str(error)
    if expected is not None:
        started = time.monotonic()
        counted = 0

        def progress(n):
            # On the server's console, for whoever watches a long run.
            nonlocal counted
            counted += n
            if counted // 100_000 > (counted - n) // 100_000:  # told in chunks
                logger.info("audit verify: %d events checked", counted)

        verdict = log.verify_against_heads(expected, progress=progress)
        seconds = time.monotonic() - started
        logger.info(
            "audit verify by %s: ok=%s checked=%d broken=%s in %.1fs",
            request.user.username,
            verdict.ok,
            verdict.checked,
            verdict.broken_seq,
            seconds,
        )
        context.update(
            verdict=verdict,
            seconds=seconds,
            checked_at=timezone.localtime(),
            # The broken event with its neighbours, the broken one highlighted.
            around=list(
                AuditEvent.objects.filter(
                    seq__gte=verdict.broken_seq - 1, seq__lte=verdict.broken_seq + 1
                ).order_by("seq")
            )
            if verdict.broken_seq
            else [],
        )
    head_seq, head_hash = log.chain_head()
    context.update(head_seq=head_seq, head_hash=head_hash)
    return render(request, "audit/verify.html", context, status=status)


# --- CSV export ---------------------------------------------------------------------------------

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value) -> object:
    """A text cell that a spreadsheet would run as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class _Echo:
    """csv.writer writes into this and gets the line back, so lines can be streamed."""

    def write(self, value):
        return value


def _csv_lines(queryset, header: list[str], chunk_size: int = EXPORT_CHUNK):
    writer = csv.writer(_Echo())
    # The BOM tells Excel the file is UTF-8 (Chinese texts otherwise come out garbled).
    yield "\ufeff" + writer.writerow(header)
    columns = (*HASHED_FIELDS, "prev_hash", "hash")
    last = 0
    while True:
        chunk = list(
            queryset.filter(seq__gt=last).order_by("seq").values_list(*columns)[:chunk_size]
        )
        if not chunk:
            return
        lines = []
        for row in chunk:
            cells = list(row)
            for index in (columns.index("before"), columns.index("after")):
                cells[index] = json.dumps(cells[index], ensure_ascii=False, sort_keys=True)
            lines.append(writer.writerow([neutralise(cell) for cell in cells]))
        yield "".join(lines)
        last = chunk[-1][0]


@login_required
def export(request):
    """The filtered events, oldest first (the chain's order), as CSV for Excel."""
    if not is_auditor(request.user):
        return _refused(request)
    if refused := read_only(request):
        return refused
    form = AuditFilterForm(request.GET)
    if not form.is_valid():
        return _list_page(request, form)
    # Labels are translated now: the lines are written after the view has returned.
    header = [
        _("Seq"),
        _("Time"),
        _("Actor id"),
        _("Actor"),
        _("Role"),
        _("Action"),
        _("Target type"),
        _("Target id"),
        _("Problem id"),
        _("Before"),
        _("After"),
        _("Previous hash"),
        _("Hash"),
    ]
    queryset = form.apply(AuditEvent.objects.all())
    response = StreamingHttpResponse(
        _csv_lines(queryset, header), content_type="text/csv; charset=utf-8"
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="duban-audit-{stamp}.csv"'
    return response

"""The feedback-report page: upload a 督察反馈意见, review its candidate problems, create them.

Office staff only. No model holds the work in progress: the upload splits the file into candidates,
and the review page carries them in one hidden field signed with django.core.signing (numbers,
heading paths and the inspection cannot be altered), while the texts, titles and categories the
office edits travel beside it in plain fields and are read back on every step. Each step (merge
with the next, split at a "---" line, drop, save) answers with the review page again; "create"
registers the kept candidates through ledger.actions.create_problem, all or nothing.
"""

import datetime as dt
import re

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.db import transaction
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from duban.core.fields import DATE_OUT_OF_RANGE, FIRST_DATE, LAST_DATE
from duban.core.http import error_status, form_methods, post_only
from duban.inspections.models import Inspection
from duban.inspections.selectors import get_inspection_for_user, inspections_visible_to
from duban.ledger import actions
from duban.ledger.models import Category, Source
from duban.org.models import Role
from duban.org.scope import lies_in, memberships_as, roles_of

from . import feedback
from .feedback import FeedbackError, split_feedback

SALT = "duban.documents.feedback"
MAX_AGE = 24 * 3600  # a review left open overnight still works; older forms are refused
SPLIT_MARK = re.compile(r"^[ \t\u3000]*---[ \t\u3000]*$", re.MULTILINE)
SENTENCE_END = re.compile(r"[。；;！？!?\n]")
TITLE_LIMIT = 60
NUMBER_LIMIT = 50  # Problem.ledger_number
DEFAULT_DAYS = 180


class StepError(Exception):
    """A review step that cannot be done; str(error) is a message for the user."""


class UploadForm(forms.Form):
    inspection = forms.ModelChoiceField(
        queryset=Inspection.objects.none(), label=gettext_lazy("Inspection")
    )
    file = forms.FileField(
        label=gettext_lazy("Feedback report"),
        help_text=gettext_lazy(".docx, .txt or a PDF with a text layer."),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["inspection"].queryset = inspections_visible_to(user)


# --- helpers ---------------------------------------------------------------------------------------


def default_title(text: str) -> str:
    """The first sentence of the text, at most 60 characters."""
    return SENTENCE_END.split(text.strip(), maxsplit=1)[0].strip()[:TITLE_LIMIT]


def number_path(candidate) -> str:
    """The candidate's number under its headings, as a ledger number: "二（一）1"."""
    # The splitter's own classifier reads the number each heading was written with.
    parts = [node.number for h in candidate.heading_path if (node := feedback._classify(h))]
    return "".join([*parts, candidate.number])[:NUMBER_LIMIT]


def default_deadline(inspection) -> dt.date:
    start = inspection.plan_due_date or inspection.feedback_date or timezone.localdate()
    return start + dt.timedelta(days=DEFAULT_DAYS)


def office_region(user, inspection):
    """Where the problems are registered: the office's own region, or the inspection's target region
    when the office sits above it (a provincial office registering a city's round); None when no
    office of the user overlaps the inspection."""
    target = inspection.target_region
    for m in memberships_as(user, Role.OFFICE):
        region = m.unit.region
        if lies_in(region.path, target.path):
            return region
        if lies_in(target.path, region.path):
            return target
    return None


def _is_office(user) -> bool:
    return Role.OFFICE in roles_of(user)


def _refused(request, message, status):
    return render(request, "documents/feedback_refused.html", {"message": message}, status=status)


def _sign(state) -> str:
    return signing.dumps(state, salt=SALT, compress=True)


def _unsign(value) -> dict:
    return signing.loads(value, salt=SALT, max_age=MAX_AGE)


def _review(request, inspection, items, deadline="", error="", status=200):
    rows = [
        {**item, "index": i, "is_last": i == len(items) - 1, "path": " › ".join(item["path"])}
        for i, item in enumerate(items)
    ]
    context = {
        "inspection": inspection,
        "items": rows,
        "state": _sign({"inspection": inspection.pk, "items": items}),
        "deadline": deadline or default_deadline(inspection).isoformat(),
        "categories": Category.choices,
        "error": error,
    }
    return render(request, "documents/feedback_review.html", context, status=status)


# --- upload ----------------------------------------------------------------------------------------


@login_required
def upload(request):
    # Role first, method second: someone outside the office learns nothing from a 405.
    if not _is_office(request.user):
        return _refused(
            request, _("Only rectification office staff register feedback reports."), 403
        )
    if refusal := form_methods(request):
        return refusal
    # The inspection page links here with ?inspection=<pk> to preselect its round.
    form = UploadForm(
        request.POST or None,
        request.FILES or None,
        user=request.user,
        initial={"inspection": request.GET.get("inspection")},
    )
    error = ""
    if request.method == "POST" and form.is_valid():
        inspection = form.cleaned_data["inspection"]
        upload = form.cleaned_data["file"]
        try:
            if office_region(request.user, inspection) is None:
                raise FeedbackError(
                    _("Your office does not lie within the region of this inspection.")
                )
            if upload.size > feedback.MAX_FILE_BYTES:
                raise FeedbackError(
                    _("The file is larger than %(mb)d MB.")
                    % {"mb": feedback.MAX_FILE_BYTES // (1024 * 1024)}
                )
            candidates = split_feedback(upload.read(), upload.name)
            if not candidates:
                raise FeedbackError(
                    _(
                        "No numbered problems were found in the report; check that it is the feedback."
                    )
                )
        except FeedbackError as problem:
            error = str(problem)
        else:
            items = [
                {
                    "number": number_path(c),
                    "path": c.heading_path,
                    "text": c.text,
                    "title": default_title(c.text),
                    "category": Category.OTHER,
                }
                for c in candidates
            ]
            return _review(request, inspection, items)
    status = 400 if request.method == "POST" else 200
    return render(
        request, "documents/feedback_upload.html", {"form": form, "error": error}, status=status
    )


# --- review steps ----------------------------------------------------------------------------------


def _edited(post, items) -> list[dict]:
    """The signed items with the office's edits of text, title and category applied."""
    edited = []
    for i, item in enumerate(items):
        category = post.get(f"category-{i}", item["category"])
        if category not in Category.values:
            raise StepError(_("Choose a category from the list."))
        text = post.get(f"text-{i}", item["text"]).replace("\r\n", "\n").strip()
        title = post.get(f"title-{i}", item["title"]).strip()
        if "\x00" in text + title:  # PostgreSQL cannot store it; no report contains one
            raise StepError(
                _("Candidate %(n)d: the text may not contain the NUL character (\\0).")
                % {"n": i + 1}
            )
        # A title the office has not touched follows the text's first sentence.
        if title == default_title(item["text"]):
            title = default_title(text)
        edited.append({**item, "text": text, "title": title, "category": category})
    return edited


def _index(op, items) -> int:
    try:
        index = int(op.split("-", 1)[1])
    except (IndexError, ValueError):
        index = -1
    if not 0 <= index < len(items):
        raise StepError(_("That candidate is no longer on the page."))
    return index


def _merge(items, i):
    if i + 1 >= len(items):
        raise StepError(_("The last candidate has no next one to merge with."))
    first, second = items[i], items[i + 1]
    number = first["number"]
    if second["number"] and second["number"] != number:
        merged = f"{number}、{second['number']}" if number else second["number"]
        number = merged if len(merged) <= NUMBER_LIMIT else number
    joined = {**first, "number": number, "text": f"{first['text']}\n{second['text']}".strip()}
    return [*items[:i], joined, *items[i + 2 :]]


def _split(items, i):
    item = items[i]
    parts = [p.strip() for p in SPLIT_MARK.split(item["text"])]
    parts = [p for p in parts if p]
    if len(parts) < 2:
        raise StepError(
            _("To split candidate %(n)d, put a line holding only --- where it divides.")
            % {"n": i + 1}
        )
    pieces = []
    for k, text in enumerate(parts, start=1):
        number = f"{item['number']}-{k}" if item["number"] else ""
        title = item["title"] if k == 1 and item["title"] else default_title(text)
        pieces.append({**item, "number": number[:NUMBER_LIMIT], "text": text, "title": title})
    return [*items[:i], *pieces, *items[i + 1 :]]


def _parse_deadline(value) -> dt.date:
    try:
        deadline = dt.date.fromisoformat(value.strip())
    except ValueError:
        raise StepError(_("Enter the deadline as a date (YYYY-MM-DD).")) from None
    if not FIRST_DATE <= deadline <= LAST_DATE:
        raise StepError(
            DATE_OUT_OF_RANGE % {"first": FIRST_DATE.isoformat(), "last": LAST_DATE.isoformat()}
        )
    return deadline


def _create(user, inspection, items, deadline):
    """Every kept candidate as a registered problem, in one transaction: all or none."""
    if not items:
        raise StepError(_("No candidates are left to create."))
    region = office_region(user, inspection)
    with transaction.atomic():
        for i, item in enumerate(items, start=1):
            if not item["text"]:
                raise StepError(_("Candidate %(n)d has no text.") % {"n": i})
            fields = {
                "source": Source.FEEDBACK,
                "feedback_text": item["text"],
                "title": item["title"] or default_title(item["text"]),
                "category": item["category"],
                "ledger_number": item["number"],
                "region": region,
                "deadline_by_date": True,
                "deadline": deadline,
            }
            try:
                actions.create_problem(by=user, inspection=inspection, fields=fields)
            except actions.ActionError as error:
                # Raised inside the atomic block: nothing created so far is kept.
                error.args = (_("Candidate %(n)d: %(error)s") % {"n": i, "error": error},)
                raise
    return len(items)


@login_required
def review(request):
    if not _is_office(request.user):
        return _refused(
            request, _("Only rectification office staff register feedback reports."), 403
        )
    if refusal := post_only(request):
        return refusal
    try:
        state = _unsign(request.POST.get("state", ""))
    except signing.BadSignature:
        return _refused(
            request,
            _("The review form was altered or has expired; upload the report again."),
            400,
        )
    inspection = get_inspection_for_user(request.user, state["inspection"])
    if office_region(request.user, inspection) is None:
        return _refused(
            request, _("Your office does not lie within the region of this inspection."), 403
        )
    items = state["items"]
    deadline = request.POST.get("deadline", "")
    op = request.POST.get("op", "save")
    try:
        items = _edited(request.POST, items)
        if op.startswith("merge-"):
            items = _merge(items, _index(op, items))
        elif op.startswith("split-"):
            items = _split(items, _index(op, items))
        elif op.startswith("drop-"):
            index = _index(op, items)
            items = [*items[:index], *items[index + 1 :]]
        elif op == "create":
            count = _create(request.user, inspection, items, _parse_deadline(deadline))
            messages.success(
                request,
                ngettext(
                    "%(count)d problem was registered from the feedback report.",
                    "%(count)d problems were registered from the feedback report.",
                    count,
                )
                % {"count": count},
            )
            query = urlencode({"inspection": inspection.code})
            return HttpResponseRedirect(f"{reverse('ledger:problem_list')}?{query}")
    except StepError as error:
        return _review(request, inspection, items, deadline, str(error), status=400)
    except actions.ActionError as error:
        return _review(request, inspection, items, deadline, str(error), error_status(error))
    return _review(request, inspection, items, deadline)

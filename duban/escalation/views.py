"""Pages of the ladder: notices (unit and office), circulars (office), accountability (discipline).

Reads go through escalation.scope (out of scope → 404); writes through escalation.actions,
whose ActionError becomes the page's message (403 not allowed, 409 conflict, 400 otherwise).
"""

from collections import Counter

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from duban.core.exceptions import ActionError
from duban.core.http import error_status, post_only, read_only
from duban.documents.render_views import _download
from duban.inspections.selectors import get_inspection_for_user
from duban.org.models import Role
from duban.org.scope import memberships_as, roles_of

from . import actions, scope
from . import documents as docs
from .forms import AnswerForm, DiscardForm, InterviewForm, PolicyForm, RecordForm
from .models import (
    CircularStatus,
    Interview,
    NoticeStatus,
    RecordStatus,
    policy_for,
)

# --- notices --------------------------------------------------------------------------


@login_required
def notice_list(request):
    if refusal := read_only(request):
        return refusal
    notices = scope.notices_for(request.user).annotate(problem_count=Count("items"))
    status = request.GET.get("status", "")
    if status in NoticeStatus.values:
        notices = notices.filter(status=status)
    return render(
        request,
        "escalation/notice_list.html",
        {
            "notices": notices[:200],
            "status": status,
            "statuses": NoticeStatus.choices,
            "is_discipline": Role.DISCIPLINE in roles_of(request.user),
            "interviews": scope.interviews_for(request.user)[:50],
        },
    )


def _notice_page(request, notice, *, form=None, error=None, status=200):
    is_member = scope.is_unit_member(request.user, notice.unit)
    items = notice.items.select_related("problem").order_by("deadline", "id")
    return render(
        request,
        "escalation/notice_detail.html",
        {
            "notice": notice,
            "items": items,
            "can_acknowledge": is_member and notice.acknowledged_at is None,
            "can_answer": is_member and notice.status != NoticeStatus.ANSWERED,
            "form": form or AnswerForm(),
            "error": error,
        },
        status=status,
    )


@login_required
def notice_detail(request, pk):
    notice = scope.get_notice_for_user(request.user, pk)
    if refusal := read_only(request):
        return refusal
    return _notice_page(request, notice)


@login_required
def notice_acknowledge(request, pk):
    notice = scope.get_notice_for_user(request.user, pk)
    if refusal := post_only(request):
        return refusal
    try:
        actions.acknowledge_notice(notice, by=request.user)
    except ActionError as error:
        notice.refresh_from_db()
        return _notice_page(request, notice, error=str(error), status=error_status(error))
    messages.success(request, _("Notice %(number)s acknowledged.") % {"number": notice.number})
    return redirect("escalation:notice_detail", pk=notice.pk)


@login_required
def notice_answer(request, pk):
    notice = scope.get_notice_for_user(request.user, pk)
    if refusal := post_only(request):
        return refusal
    form = AnswerForm(request.POST)
    if not form.is_valid():
        return _notice_page(request, notice, form=form, status=400)
    try:
        actions.answer_notice(notice, by=request.user, **form.cleaned_data)
    except ActionError as error:
        return _notice_page(
            request, notice, form=form, error=str(error), status=error_status(error)
        )
    messages.success(request, _("Your answer to %(number)s was sent.") % {"number": notice.number})
    return redirect("escalation:notice_detail", pk=notice.pk)


@login_required
def notice_document(request, pk, fmt):
    notice = scope.get_notice_for_user(request.user, pk)
    if refusal := read_only(request):
        return refusal
    return _download(docs.notice_document(notice), fmt)


# --- circulars ------------------------------------------------------------------------


@login_required
def circular_list(request):
    if refusal := read_only(request):
        return refusal
    circulars = scope.circulars_for(request.user).annotate(
        unit_count=Count("entries__unit", distinct=True),
        problem_count=Count("entries", distinct=True),
    )
    return render(
        request,
        "escalation/circular_list.html",
        {"circulars": circulars[:200]},
    )


def _circular_page(request, circular, *, error=None, status=200, discard_form=None):
    entries = list(circular.entries.select_related("unit", "problem", "notice"))
    return render(
        request,
        "escalation/circular_detail.html",
        {
            "circular": circular,
            "entries": entries,
            "units": list(Counter(e.unit.name for e in entries).items()),
            "can_decide": circular.status == CircularStatus.DRAFT
            and scope.is_office_over(request.user, circular.region),
            "discard_form": discard_form or DiscardForm(),
            "error": error,
        },
        status=status,
    )


@login_required
def circular_detail(request, pk):
    circular = scope.get_circular_for_user(request.user, pk)
    if refusal := read_only(request):
        return refusal
    return _circular_page(request, circular)


@login_required
def circular_approve(request, pk):
    circular = scope.get_circular_for_user(request.user, pk)
    if refusal := post_only(request):
        return refusal
    try:
        actions.approve_circular(circular, by=request.user)
    except ActionError as error:
        circular.refresh_from_db()
        return _circular_page(request, circular, error=str(error), status=error_status(error))
    messages.success(request, _("Circular %(number)s issued.") % {"number": circular.number})
    return redirect("escalation:circular_detail", pk=circular.pk)


@login_required
def circular_discard(request, pk):
    circular = scope.get_circular_for_user(request.user, pk)
    if refusal := post_only(request):
        return refusal
    form = DiscardForm(request.POST)
    if not form.is_valid():  # the note is kept with the decision: never dropped silently
        return _circular_page(request, circular, status=400, discard_form=form)
    try:
        actions.discard_circular(circular, by=request.user, note=form.cleaned_data["note"])
    except ActionError as error:
        circular.refresh_from_db()
        return _circular_page(
            request, circular, error=str(error), status=error_status(error), discard_form=form
        )
    messages.success(request, _("The circular was discarded."))
    return redirect("escalation:circular_list")


@login_required
def circular_document(request, pk, fmt):
    circular = scope.get_circular_for_user(request.user, pk)
    if refusal := read_only(request):
        return refusal
    return _download(docs.circular_document(circular), fmt)


@login_required
def interview_detail(request, pk):
    interview = scope.get_interview_for_user(request.user, pk)
    can_edit = scope.is_office_over(request.user, interview.unit.region)
    initial = {
        "planned_on": interview.planned_on,
        "interviewers": interview.interviewers,
        "notes": interview.notes,
    }
    form = InterviewForm(request.POST or None, initial=initial)
    error, status = None, 200
    if request.method == "POST":
        if not form.is_valid():
            status = 400
        else:
            try:
                actions.update_interview(interview, by=request.user, **form.cleaned_data)
            except ActionError as e:
                error, status = str(e), error_status(e)
            else:
                messages.success(request, _("The interview was saved."))
                return redirect("escalation:interview_detail", pk=interview.pk)
    return render(
        request,
        "escalation/interview_detail.html",
        {
            "interview": interview,
            "problems": interview.problems.all(),
            "form": form,
            "can_edit": can_edit,
            "error": error,
        },
        status=status,
    )


# --- the ladder of an inspection -------------------------------------------------------


@login_required
def policy_edit(request, pk):
    inspection = get_inspection_for_user(request.user, pk)
    if not scope.is_office_over(request.user, inspection.target_region):
        raise PermissionDenied(
            _("Only the rectification office of the inspection sets its ladder.")
        )
    policy = policy_for(inspection)
    form = PolicyForm(request.POST or None, instance=policy)
    error, status = None, 200
    if request.method == "POST":
        if form.is_valid():
            values = {f: form.cleaned_data[f] for f in actions.POLICY_FIELDS}
            try:
                actions.save_policy(inspection, by=request.user, values=values)
            except ActionError as e:
                error, status = str(e), error_status(e)
            else:
                messages.success(request, _("The escalation ladder was saved."))
                return redirect("escalation:policy_edit", pk=inspection.pk)
        else:
            status = 400
    return render(
        request,
        "escalation/policy_form.html",
        {"inspection": inspection, "form": form, "error": error},
        status=status,
    )


# --- accountability -------------------------------------------------------------------


def _discipline_only(user):
    if Role.DISCIPLINE not in roles_of(user):
        raise PermissionDenied(_("Only discipline inspectors keep accountability records."))


@login_required
def record_list(request):
    _discipline_only(request.user)
    if refusal := read_only(request):
        return refusal
    records = scope.records_for(request.user)
    per_unit = (
        records.exclude(unit=None)
        .values("unit__name")
        .annotate(
            total=Count("id"),
            recorded=Count("id", filter=Q(status=RecordStatus.RECORDED)),
        )
        .order_by("-total", "unit__name")
    )
    interviews = Interview.objects.filter(referrals__in=records).select_related("unit").distinct()
    return render(
        request,
        "escalation/record_list.html",
        {
            "records": records[:300],
            "per_unit": per_unit,
            "interviews": interviews[:100],
        },
    )


def _record_input(form, user, record=None) -> actions.RecordInput:
    data = form.cleaned_data
    # A record without a unit stays in its region when edited: another inspector's region
    # would move it out of the sight of the inspectors who made it.
    if record is not None:
        region = record.region
    else:
        region = memberships_as(user, Role.DISCIPLINE)[0].unit.region
    return actions.RecordInput(
        region=region,
        measure=data["measure"],
        unit=data["unit"],
        person_name=data["person_name"],
        person_post=data["person_post"],
        facts=data["facts"],
        decided_on=data["decided_on"],
        problems=tuple(data["problems"]),
        notices=tuple(data["notices"]),
    )


def _record_form_page(request, form, record=None, error=None, status=200):
    return render(
        request,
        "escalation/record_form.html",
        {"form": form, "record": record, "error": error},
        status=status,
    )


@login_required
def record_create(request):
    _discipline_only(request.user)
    form = RecordForm(request.POST or None, user=request.user)
    if request.method != "POST":
        return _record_form_page(request, form)
    if not form.is_valid():
        return _record_form_page(request, form, status=400)
    try:
        record = actions.create_record(by=request.user, data=_record_input(form, request.user))
    except ActionError as error:
        return _record_form_page(request, form, error=str(error), status=error_status(error))
    messages.success(request, _("Accountability record saved as a draft."))
    return redirect("escalation:record_edit", pk=record.pk)


@login_required
def record_edit(request, pk):
    record = scope.get_record_for_user(request.user, pk)
    form = RecordForm(request.POST or None, user=request.user, record=record)
    if request.method != "POST":
        return _record_form_page(request, form, record)
    if not form.is_valid():
        return _record_form_page(request, form, record, status=400)
    finish = "finish" in request.POST
    try:
        record = actions.update_record(
            record,
            by=request.user,
            data=_record_input(form, request.user, record),
            finish=finish,
        )
    except ActionError as error:
        return _record_form_page(
            request, form, record, error=str(error), status=error_status(error)
        )
    messages.success(request, _("Accountability recorded.") if finish else _("Draft saved."))
    return redirect("escalation:record_edit", pk=record.pk)

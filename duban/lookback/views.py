"""Look-back pages: the overview (draws, rebounds per unit, my checks), a new draw, a draw, a check.

Office staff read the draws of their region subtree; a drawn checker reads and records only
his own checks. Anything else is 404.
"""

import shlex

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, F
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from duban.core.http import error_status, form_methods, read_only, refused, show_action_error
from duban.ledger.files import StoredFileChanged, evidence_response

from . import actions, method, selectors
from .forms import CheckForm, DrawForm
from .models import LookbackCheck, Outcome


@login_required
@require_http_methods(["GET", "HEAD"])
def overview(request):
    draws = selectors.draws_for_user(request.user).annotate(drawn=Count("checks"))
    my_checks = (
        selectors.checks_for_user(request.user)
        .filter(checker=request.user)
        .order_by(F("checked_at").desc(nulls_first=True), "id")  # not yet checked first
    )
    is_office = bool(selectors.office_regions(request.user))
    return render(
        request,
        "lookback/overview.html",
        {
            "is_office": is_office,
            "draws": draws,
            "rebounds": (
                selectors.rebounds_by_unit(
                    LookbackCheck.objects.filter(draw__in=draws.values("pk"))
                )
                if is_office
                else {}
            ),
            "my_checks": my_checks,
        },
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def draw_create(request):
    regions = selectors.office_regions(request.user)
    if not regions:
        return refused(request, _("Only rectification office staff make look-back draws."))
    region = regions[0]
    form = DrawForm(request.POST or None, user=request.user, region=region)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                draw = actions.create_draw(
                    by=request.user,
                    inspection=data["inspection"],
                    seed=data["seed"].strip() or actions.new_seed(),
                    size=data["size"],
                    share=data["share"],
                    min_age_days=data["min_age_days"],
                    strata=data["strata"],
                    pool=list(data["pool"]) or None,
                )
            except actions.ActionError as error:
                show_action_error(form, error)
                status = error_status(error)
            else:
                messages.success(request, _("Draw recorded."))
                return redirect("lookback:draw_detail", pk=draw.pk)
    return render(
        request, "lookback/draw_form.html", {"form": form, "region": region}, status=status
    )


def command_line(draw) -> str:
    """The command that redoes `draw` from its seed, quoted for a shell (the seed and the
    inspection code are typed by people: a quote in them must not end the argument)."""
    parts = [
        "duban lookback_draw",
        f"--inspection {shlex.quote(draw.inspection.code)}",
        f"--region {shlex.quote(draw.region.code)}",
        f"--as-of {draw.as_of:%Y-%m-%d}",
        f"--min-age-days {draw.min_age_days}",
    ]
    parts.append(f"--size {draw.size}" if draw.size is not None else f"--share {draw.share}")
    if draw.strata:
        parts.append(f"--strata {','.join(draw.strata)}")
    parts.append(f"--seed {shlex.quote(draw.seed)}")
    return " ".join(parts)


@login_required
def draw_detail(request, pk):
    draw = selectors.get_draw_for_user(request.user, pk)
    if refusal := read_only(request):
        return refusal
    checks = list(
        draw.checks.select_related("problem", "unit", "checker").order_by(
            "problem__ledger_number", "problem_id"
        )
    )
    strata = {}
    for check in checks:
        strata[check.stratum] = strata.get(check.stratum, 0) + 1
    return render(
        request,
        "lookback/draw_detail.html",
        {
            "draw": draw,
            "checks": checks,
            "strata": strata,
            "command": command_line(draw),
            "method": method.METHOD,
            "rebounds": selectors.rebounds_by_unit(draw.checks.all()),
        },
    )


@login_required
def check_detail(request, pk):
    check = selectors.get_check_for_user(request.user, pk)
    if refusal := form_methods(request):
        return refusal
    mine = check.checker_id == request.user.pk
    form = CheckForm(request.POST or None, request.FILES or None) if mine else None
    status = 200
    error = None
    if request.method == "POST":
        if not mine:
            error = _("Only the drawn checker records this check.")
            status = 403
        elif check.outcome != Outcome.PENDING:
            error = _("This check was already recorded.")
            status = 400
        elif form.is_valid():
            data = form.cleaned_data
            try:
                actions.record_check(
                    check,
                    by=request.user,
                    outcome=data["outcome"],
                    findings=data["findings"],
                    files=data["files"],
                )
            except actions.ActionError as exc:
                show_action_error(form, exc)
                status = error_status(exc)
            else:
                messages.success(request, _("Check recorded."))
                return redirect("lookback:check_detail", pk=check.pk)
        else:
            status = 400
    return render(
        request,
        "lookback/check_detail.html",
        {
            "check": check,
            "problem": check.problem,
            "form": form if mine and check.outcome == Outcome.PENDING else None,
            "error": error,
            "evidence": list(check.evidence.all()),
        },
        status=status,
    )


@login_required
def check_evidence(request, pk, evidence_pk):
    """A file of the check, for whoever may read the check (a checker from elsewhere too)."""
    check = selectors.get_check_for_user(request.user, pk)
    if refusal := read_only(request):
        return refusal
    evidence = check.evidence.filter(pk=evidence_pk).first()
    if evidence is None:
        raise Http404(_("No such file."))
    try:
        response = evidence_response(evidence, by=request.user)
    except StoredFileChanged as changed:
        return refused(request, str(changed), status=409)
    if response is None:
        raise Http404(_("No such file."))
    return response

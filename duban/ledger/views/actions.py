"""One page per action on a problem: GET shows its form, POST calls duban.ledger.actions.

The slug in the URL is the transition's name (transitions.TRANSITIONS). Errors
from the action are shown with the form and the user's input: NotAllowed → 403,
Conflict → 409, WrongState and InvalidInput → 400. A problem outside the user's
scope is 404, for GET and POST alike.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from duban.core.http import error_status, form_methods, post_only
from duban.ledger import actions
from duban.ledger import forms as ledger_forms
from duban.ledger.models import ExtensionStatus, Problem
from duban.ledger.selectors import get_evidence_for_user, get_problem_for_user
from duban.ledger.transitions import TRANSITIONS


@dataclass(frozen=True)
class ActionPage:
    form_class: type
    # perform(problem, user, form) calls the action with the form's cleaned data.
    perform: Callable


def _pending_extension(problem: Problem):
    extension = problem.extensions.filter(status=ExtensionStatus.PENDING).first()
    if extension is None:
        raise actions.WrongState(_("No extension request is waiting for a decision."))
    extension.problem = problem  # the instance already checked for scope
    return extension


def _decide_extension(problem, user, form):
    return actions.decide_extension(
        _pending_extension(problem),
        by=user,
        approve=form.cleaned_data["decision"] == "approve",
        note=form.cleaned_data["note"],
    )


def _c(form, name):
    return form.cleaned_data[name]


PAGES = {
    "assign": ActionPage(ledger_forms.ConfirmForm, lambda p, u, f: actions.assign(p, by=u)),
    "split": ActionPage(
        ledger_forms.SplitForm,
        lambda p, u, f: actions.split_problem(p, by=u, children=_c(f, "children")),
    ),
    "claim": ActionPage(ledger_forms.ConfirmForm, lambda p, u, f: actions.claim(p, by=u)),
    "save_plan": ActionPage(
        ledger_forms.PlanForm,
        lambda p, u, f: actions.save_plan(
            p,
            by=u,
            target=_c(f, "target"),
            measures=_c(f, "measures"),
            milestones=_c(f, "milestones"),
            version=_c(f, "version"),
        ),
    ),
    "submit_plan": ActionPage(
        ledger_forms.ConfirmForm, lambda p, u, f: actions.submit_plan(p, by=u)
    ),
    "approve_plan": ActionPage(
        ledger_forms.NoteForm, lambda p, u, f: actions.approve_plan(p, by=u, note=_c(f, "note"))
    ),
    "reject_plan": ActionPage(
        ledger_forms.ReasonsForm,
        lambda p, u, f: actions.reject_plan(p, by=u, reasons=_c(f, "reasons")),
    ),
    "report_progress": ActionPage(
        ledger_forms.ProgressForm,
        lambda p, u, f: actions.report_progress(
            p,
            by=u,
            period=_c(f, "period"),
            text=_c(f, "text"),
            percent=_c(f, "percent"),
            measure_updates=f.measure_updates(),
            files=_c(f, "files"),
            evidence_category=_c(f, "evidence_category"),
        ),
    ),
    "upload_evidence": ActionPage(
        ledger_forms.EvidenceForm,
        lambda p, u, f: actions.upload_evidence(
            p, by=u, files=_c(f, "files"), category=f.category_value(), title=_c(f, "title")
        ),
    ),
    "request_extension": ActionPage(
        ledger_forms.ExtensionForm,
        lambda p, u, f: actions.request_extension(
            p,
            by=u,
            reasons=_c(f, "reasons"),
            efforts=_c(f, "efforts"),
            new_deadline=_c(f, "new_deadline"),
            roadmap=_c(f, "roadmap"),
        ),
    ),
    "decide_extension": ActionPage(ledger_forms.DecideExtensionForm, _decide_extension),
    "apply_for_closing": ActionPage(
        ledger_forms.ClosingForm,
        lambda p, u, f: actions.apply_for_closing(
            p, by=u, summary=_c(f, "summary"), self_check=_c(f, "self_check")
        ),
    ),
    "edit_application": ActionPage(
        ledger_forms.ClosingForm,
        lambda p, u, f: actions.edit_application(
            p, by=u, summary=_c(f, "summary"), self_check=_c(f, "self_check")
        ),
    ),
    "withdraw_application": ActionPage(
        ledger_forms.ConfirmForm, lambda p, u, f: actions.withdraw_application(p, by=u)
    ),
    "sign": ActionPage(
        ledger_forms.StatementForm,
        lambda p, u, f: actions.sign(
            p, by=u, statement=_c(f, "statement"), expected_hash=_c(f, "content_hash")
        ),
    ),
    "endorse": ActionPage(
        ledger_forms.StatementForm,
        lambda p, u, f: actions.endorse(
            p, by=u, statement=_c(f, "statement"), expected_hash=_c(f, "content_hash")
        ),
    ),
    "accept": ActionPage(
        ledger_forms.AcceptForm,
        lambda p, u, f: actions.accept(p, by=u, site_check=_c(f, "site_check")),
    ),
    "return": ActionPage(
        ledger_forms.ReturnForm,
        lambda p, u, f: actions.return_application(
            p, by=u, site_check=_c(f, "site_check"), reasons=_c(f, "reasons")
        ),
    ),
    "record_objection": ActionPage(
        ledger_forms.ObjectionForm,
        lambda p, u, f: f.perform(),
    ),
    "end_notice": ActionPage(ledger_forms.ConfirmForm, lambda p, u, f: actions.end_notice(p, by=u)),
}


def _refusal(problem: Problem, user, name: str) -> actions.ActionError | None:
    """Why `user` may not take action `name` on `problem` now, or None if they may.

    Uses the actions' own checks so the page says exactly what the action would.
    """
    try:
        actions.check(problem, name, user)
    except actions.ActionError as error:
        return error
    return None


def available_actions(problem: Problem, user) -> list[dict]:
    """The buttons of the detail page: the transitions `user` may take now."""
    buttons = []
    for transition in actions.allowed_actions(problem, user):
        name = transition.name
        url = (
            reverse("ledger:problem_edit", args=[problem.pk])
            if name == "edit"
            else reverse("ledger:problem_action", args=[problem.pk, name])
        )
        buttons.append(
            {"name": name, "label": transition.label, "style": transition.style, "url": url}
        )
    return buttons


def _context(problem: Problem, name: str) -> dict:
    """What the person taking action `name` needs to see next to the form."""
    context = {"checklist_missing": [], "application": None, "notice": None, "extension": None}
    application = actions.open_application(problem)
    if name in ("apply_for_closing", "edit_application"):
        context["checklist_missing"] = actions.missing_materials(problem)
    if application is not None:
        context["application"] = application
        context["signed_content"] = application.signed_content()
        context["content_hash"] = actions.content_hash(application)
        context["evidence"] = list(application.evidence.order_by("category", "id"))
        context["signatures"] = list(application.signatures.select_related("signer"))
        context["reviews"] = list(application.reviews.select_related("reviewer"))
    if name in ("end_notice", "record_objection"):
        context["notice"] = actions.open_notice(problem)
    if name == "decide_extension":
        context["extension"] = problem.extensions.filter(status=ExtensionStatus.PENDING).first()
    if name in ("accept", "return") and problem.state == "under_acceptance":
        context["level_label"] = problem.inspection.acceptance_level_label(problem.acceptance_level)
    return context


def _render(request, problem, name, form, *, error=None, status=200):
    transition = TRANSITIONS[name]
    context = {
        "problem": problem,
        "action": name,
        "transition": transition,
        "form": form,
        "error": error,
        "refused": isinstance(error, actions.NotAllowed),
        **_context(problem, name),
    }
    return render(request, "ledger/problem_action.html", context, status=status)


@login_required
def problem_action(request, pk, action):
    if action == "edit":
        get_problem_for_user(request.user, pk)
        return redirect("ledger:problem_edit", pk=pk)
    page = PAGES.get(action)
    if page is None:
        raise Http404(_("No such action."))
    problem = get_problem_for_user(request.user, pk)
    if refusal := form_methods(request):
        return refusal
    kwargs = {"problem": problem, "user": request.user}
    if request.method == "GET":
        form = page.form_class(**kwargs)
        refusal = _refusal(problem, request.user, action)
        if refusal is not None:
            return _render(
                request, problem, action, form, error=refusal, status=error_status(refusal)
            )
        return _render(request, problem, action, form)

    form = page.form_class(request.POST, request.FILES, **kwargs)
    if not form.is_valid():
        # Refuse clearly before complaining about fields the person may not use anyway.
        refusal = _refusal(problem, request.user, action)
        if isinstance(refusal, actions.NotAllowed):
            return _render(request, problem, action, form, error=refusal, status=403)
        return _render(request, problem, action, form, status=400)
    try:
        result = page.perform(problem, request.user, form)
    except actions.ActionError as error:
        status = error_status(error)
        if getattr(error, "field", None) in form.fields:
            form.add_error(error.field, str(error))  # shown next to its field
            error = None
        return _render(request, problem, action, form, error=error, status=status)
    label = TRANSITIONS[action].label
    if action == "split":
        messages.success(request, _("Split into %(n)d child problems.") % {"n": len(result)})
    else:
        messages.success(request, _("Done: %(action)s.") % {"action": label})
    return redirect("ledger:problem_detail", pk=problem.pk)


@login_required
def evidence_review(request, pk):
    """The unit head marks one evidence file as reviewed (审核)."""
    evidence = get_evidence_for_user(request.user, pk)
    if refusal := post_only(request):
        return refusal
    try:
        actions.review_evidence(evidence, by=request.user)
    except actions.ActionError as error:
        return render(
            request,
            "ledger/refused.html",
            {"message": str(error), "problem": evidence.problem},
            status=error_status(error),
        )
    messages.success(request, _("File marked as reviewed."))
    return redirect(reverse("ledger:problem_detail", args=[evidence.problem_id]) + "#evidence")

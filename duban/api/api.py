"""/api/v1/: the ledger as JSON, with the same scope and the same actions as the web pages.

Reads go through Problem.objects.visible_to / get_problem_for_user (404 outside
scope, whether the id exists or not); every change calls duban.ledger.actions, so
the API has no rules of its own. ActionError becomes an HTTP status here, once.
"""

import json
from collections import namedtuple

from django import forms
from django.conf import settings
from django.db.models import Prefetch
from django.http import Http404
from django.http.request import RawPostDataException
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import File, Form, NinjaAPI, Router, Status, Swagger
from ninja.errors import HttpError, ValidationError
from ninja.files import UploadedFile

from duban.accounts.models import User
from duban.audit.models import AuditEvent
from duban.core import paging
from duban.core.http import MAX_PAGE, page_number
from duban.inspections.models import Inspection
from duban.ledger import actions
from duban.ledger.files import StoredFileChanged, evidence_response
from duban.ledger.filters import SORTS, ProblemFilterForm
from duban.ledger.models import (
    PACE_FIELDS,
    AcceptanceReview,
    ClosingApplication,
    Evidence,
    Extension,
    Objection,
    Problem,
    Signature,
    State,
    UnitRole,
)
from duban.ledger.pace import PACE_LIGHT
from duban.ledger.selectors import get_evidence_for_user, get_problem_for_user
from duban.org.models import Membership, Region, Role, Unit
from duban.org.scope import inspection_scope_q

from . import schemas as s
from .auth import BearerToken, BrowserSession, authenticated_docs
from .parsing import TextParser


class DubanAPI(NinjaAPI):
    def get_openapi_operation_id(self, operation):
        # Short, stable ids ("list_problems", "action_claim") for clients generated from the document.
        return operation.view_func.__name__

    def create_response(self, request, data, *args, **kwargs):
        response = super().create_response(request, data, *args, **kwargs)
        # A problem's detail carries its version as an ETag (set by _detail), for If-Match.
        etag = getattr(request, "duban_etag", None)
        if etag and 200 <= response.status_code < 300:
            response["ETag"] = etag
        return response

    def get_openapi_schema(self, *args, **kwargs):
        schema = super().get_openapi_schema(*args, **kwargs)
        # Every change of an existing problem takes its version as If-Match (or in the body).
        for operations in schema["paths"].values():
            for operation in operations.values():
                if operation.get("operationId") in VERSIONED_OPERATIONS:
                    operation.setdefault("parameters", []).append(IF_MATCH_PARAMETER)
                    operation.setdefault("requestBody", VERSION_BODY)
        return schema


api = DubanAPI(
    title="Duban API",
    version="1",
    description="The rectification ledger (整改台账): problems, plans, progress, evidence, "
    "closing and acceptance. Authenticate with `Authorization: Bearer <token>`.",
    auth=[BearerToken(), BrowserSession()],
    urls_namespace="api",
    openapi_url="/openapi.json",
    docs_url="/docs",
    # Swagger from the files bundled with ninja ("ninja" in INSTALLED_APPS): no CDN.
    docs=Swagger(),
    docs_decorator=authenticated_docs,
    parser=TextParser(),
)
router = Router()

ERRORS = {400: s.Error, 401: s.Error, 403: s.Error, 404: s.Error, 409: s.Error}
# A change of an existing problem answers 428 when it names no version (see _expect_version).
WRITE_ERRORS = ERRORS | {428: s.Error}

IF_MATCH_PARAMETER = {
    "in": "header",
    "name": "If-Match",
    "required": False,
    "schema": {"type": "string"},
    "description": 'The ETag of GET /problems/{id} (e.g. "v7"): the version this change was '
    "made on. Either this header or `version` in the body is required.",
}
# The body of a change that takes nothing but the version (optional: If-Match will do).
VERSION_BODY = {
    "required": False,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {"version": {"type": "integer", "minimum": 0}},
            }
        }
    },
}
# The operations that change an existing problem (filled by the route decorators below).
VERSIONED_OPERATIONS: set[str] = set()


# --- versions: a change made on an older version is refused, not silently applied ----------


class VersionMissing(Exception):
    pass


class VersionStale(Exception):
    def __init__(self, current: int):
        super().__init__(current)
        self.current = current


def etag_of(problem) -> str:
    return f'"v{problem.version}"'


def _if_match_version(request) -> int | None:
    """The version named by an If-Match header ("v7", W/"v7" or 7); None without the header."""
    header = request.headers.get("If-Match")
    if header is None:
        return None
    tag = header.strip().removeprefix("W/").strip('"').removeprefix("v")
    if not tag.isascii() or not tag.isdigit():
        raise actions.InvalidInput(
            _('If-Match must be the ETag of the problem, such as "v7".'), "version"
        )
    return int(tag)


def _version_in_body(request) -> int | None:
    """`version` of the JSON body of an action that takes nothing else (the body is optional)."""
    try:
        raw = request.body
    except RawPostDataException:  # a form post from a logged-in browser, read for its CSRF check
        value = request.POST.get("version")
    else:
        if not raw.strip():
            return None
        try:
            data = json.loads(raw)
        except ValueError:
            raise actions.InvalidInput(_("The body must be JSON."), "version") from None
        value = data.get("version") if isinstance(data, dict) else None
    if value is None:
        return None
    if isinstance(value, bool) or not str(value).isascii() or not str(value).isdigit():
        raise actions.InvalidInput(_("The version must be a whole number."), "version")
    return int(value)


BODY = object()  # the version is in the optional JSON body: read it once scope is checked


def _expect_version(request, problem, body_version) -> None:
    """Refuse a change made on another version than the problem's current one.

    The action's own conditional update on the version it loaded (the one checked here) makes
    the check hold until its commit: a change in between is a Conflict there.
    """
    if body_version is BODY:
        body_version = _version_in_body(request)
    header_version = _if_match_version(request)
    if header_version is not None and body_version is not None and header_version != body_version:
        raise actions.InvalidInput(
            _("The If-Match header and the version in the body name different versions."),
            "version",
        )
    version = body_version if body_version is not None else header_version
    if version is None:
        raise VersionMissing
    if version != problem.version:
        raise VersionStale(problem.version)


@api.exception_handler(VersionMissing)
def version_missing(request, exc):
    body = {
        "detail": _(
            "Say which version of the problem you changed: send its version in the body "
            "(version) or its ETag as If-Match. Read the problem to get it."
        ),
        "field": "version",
    }
    return api.create_response(request, body, status=428)


@api.exception_handler(VersionStale)
def version_stale(request, exc):
    body = {
        "detail": _(
            "Someone else changed this problem since you read it (it is at version "
            "%(version)s now). Read it again and make your change on what it says now."
        )
        % {"version": exc.current},
        "field": "version",
        "current_version": exc.current,
    }
    return api.create_response(request, body, status=409)


# --- errors: one mapping for the whole API -----------------------------------------------


@api.exception_handler(actions.ActionError)
def action_error(request, exc):
    body = {"detail": str(exc)}
    if isinstance(exc, actions.NotAllowed):
        status = 403
    elif isinstance(exc, actions.Conflict | actions.WrongState):
        status = 409
    elif isinstance(exc, actions.InvalidInput):
        status, body["field"] = 400, exc.field
    else:
        status = 400
    return api.create_response(request, body, status=status)


@api.exception_handler(Http404)
def not_found(request, exc):
    # One body for "does not exist" and "not yours": the answer must not tell them apart.
    return api.create_response(request, {"detail": _("Not found.")}, status=404)


# ninja prefixes every error's location with where the value came from and the parameter name.
LOCATION_PREFIXES = {"body", "payload", "query", "form"}


@api.exception_handler(ValidationError)
def invalid_request(request, exc):
    # A path that names no object (a non-numeric id) is "not found", like a missing one.
    if any(tuple(error["loc"][:1]) == ("path",) for error in exc.errors):
        return not_found(request, Http404())
    # ninja checks the body before the view runs; scope still comes first, so a request about
    # someone else's problem is "not found" whatever its body.
    if _out_of_scope(request):
        return not_found(request, Http404())
    first = exc.errors[0] if exc.errors else {"loc": (), "msg": _("Invalid request.")}
    field = ".".join(str(part) for part in first["loc"] if part not in LOCATION_PREFIXES)
    detail = f"{field}: {first['msg']}" if field else str(first["msg"])
    body = {"detail": detail, "field": field or None, "errors": exc.errors}
    return api.create_response(request, body, status=400)


@api.exception_handler(HttpError)
def http_error(request, exc):
    # The parser's refusals of a body (parsing.py) reach here wrapped as "Cannot parse request body".
    if isinstance(exc.__cause__, ValidationError):
        return invalid_request(request, exc.__cause__)
    return api.create_response(request, {"detail": str(exc)}, status=exc.status_code)


def _out_of_scope(request) -> bool:
    kwargs = request.resolver_match.kwargs if request.resolver_match else {}
    user = getattr(request, "auth", None)
    visible = Problem.objects.visible_to(user)
    checks = {
        "problem_id": lambda pk: visible.filter(pk=pk),
        "extension_id": lambda pk: Extension.objects.filter(pk=pk, problem__in=visible),
        "evidence_id": lambda pk: Evidence.objects.filter(pk=pk, problem__in=visible),
    }
    return any(
        not (str(kwargs[name]).isdigit() and check(kwargs[name]).exists())
        for name, check in checks.items()
        if name in kwargs
    )


# --- reading helpers ---------------------------------------------------------------------


def _ref(obj):
    return None if obj is None else {"id": obj.pk, "name": str(obj)}


def _region(region):
    return {"code": region.code, "name": region.name}


# What _list_item reads, and no more: the long texts of 50 problems are not worth loading.
LIST_ITEM_FIELDS = (
    *PACE_FIELDS,
    "inspection__code",
    "ledger_number",
    "title",
    "source",
    "category",
    "region__code",
    "region__name",
    "lead_unit__name",
    "lead_official__display_name",
    "lead_official__username",
    "is_key",
    "is_difficult",
    "is_sensitive",
    "is_rebound",
    "updated_at",
)


def _list_item(problem: Problem, today) -> dict:
    pace = problem.pace(today)
    return {
        "id": problem.pk,
        "inspection": problem.inspection.code,
        "ledger_number": problem.ledger_number,
        "title": problem.title,
        "source": problem.source,
        "category": problem.category,
        "state": problem.state,
        "state_label": str(problem.get_state_display()),
        "region": _region(problem.region),
        "lead_unit": _ref(problem.lead_unit),
        "lead_official": _ref(problem.lead_official),
        "deadline": problem.deadline,
        "deadline_label": str(problem.deadline_label()),
        "progress_percent": problem.progress_percent,
        "pace": pace.value,
        "pace_light": PACE_LIGHT[pace],
        "overdue": problem.is_overdue(today),
        "is_key": problem.is_key,
        "is_difficult": problem.is_difficult,
        "is_sensitive": problem.is_sensitive,
        "is_rebound": problem.is_rebound,
        "updated_at": problem.updated_at,
    }


def _evidence(request, evidence: Evidence) -> dict:
    return {
        "id": evidence.pk,
        "category": evidence.category,
        "title": evidence.title,
        "original_name": evidence.original_name,
        "content_type": evidence.content_type,
        "size": evidence.size,
        "sha256": evidence.sha256,
        "uploaded_by": _ref(evidence.uploaded_by),
        "uploaded_at": evidence.uploaded_at,
        "taken_at": evidence.taken_at,
        "latitude": evidence.latitude,
        "longitude": evidence.longitude,
        "reviewed_at": evidence.reviewed_at,
        "report": evidence.report_id,
        "download_url": request.build_absolute_uri(
            reverse("ledger:evidence_download", args=[evidence.pk])
        ),
        "api_download_url": request.build_absolute_uri(
            reverse("api:evidence_file", args=[evidence.pk])
        ),
    }


def _application(application: ClosingApplication) -> dict:
    return {
        "id": application.pk,
        "status": application.status,
        "summary": application.summary,
        "self_check": application.self_check,
        "submitted_by": _ref(application.submitted_by),
        "submitted_at": application.submitted_at,
        "edited_at": application.edited_at,
        "evidence": [e.pk for e in application.evidence.all()],
        "signatures": [
            {
                "id": sig.pk,
                "role": sig.role,
                "signer": _ref(sig.signer),
                "statement": sig.statement,
                "content_hash": sig.content_hash,
                "signed_at": sig.signed_at,
                "voided_at": sig.voided_at,
                "void_reason": sig.void_reason,
            }
            for sig in application.signatures.all()
        ],
        "reviews": [
            {
                "id": review.pk,
                "level": review.level,
                "level_name": review.level_name,
                "reviewer": _ref(review.reviewer),
                "decision": review.decision,
                "site_check": review.site_check,
                "reasons": review.reasons,
                "reviewed_at": review.reviewed_at,
            }
            for review in application.reviews.all()
        ],
    }


def _extension(extension: Extension) -> dict:
    return {
        "id": extension.pk,
        "problem": extension.problem_id,
        "status": extension.status,
        "reasons": extension.reasons,
        "efforts": extension.efforts,
        "roadmap": extension.roadmap,
        "old_deadline": extension.old_deadline,
        "new_deadline": extension.new_deadline,
        "requested_by": _ref(extension.requested_by),
        "requested_at": extension.requested_at,
        "decided_by": _ref(extension.decided_by),
        "decided_at": extension.decided_at,
        "decision_note": extension.decision_note,
    }


def _detail(request, problem_id) -> dict:
    """Everything about one problem the caller may see, read fresh (after an action, too)."""
    user = request.auth
    problem = get_problem_for_user(user, problem_id)
    request.duban_etag = etag_of(problem)
    today = timezone.localdate()
    links = list(problem.unit_links.select_related("unit").order_by("id"))
    reports = problem.reports.select_related("submitted_by").prefetch_related("measure_updates")
    applications = problem.closing_applications.select_related("submitted_by").prefetch_related(
        Prefetch("evidence", queryset=Evidence.objects.only("id")),
        Prefetch("signatures", queryset=Signature.objects.select_related("signer")),
        Prefetch("reviews", queryset=AcceptanceReview.objects.select_related("reviewer")),
    )
    notice = (
        problem.notices.prefetch_related(
            Prefetch("objections", queryset=Objection.objects.select_related("recorded_by"))
        )
        .order_by("-opened_at", "-id")
        .first()
    )
    levels = problem.inspection.acceptance_levels
    under_acceptance = problem.state == State.UNDER_ACCEPTANCE
    return _list_item(problem, today) | {
        "inspection_name": problem.inspection.name,
        "parent": problem.parent_id,
        "children": [
            {"id": c.pk, "ledger_number": c.ledger_number, "title": c.title, "state": c.state}
            for c in Problem.objects.visible_to(user).filter(parent=problem).order_by("id")
        ],
        "feedback_text": problem.feedback_text,
        "nature": problem.nature,
        "shared_level": problem.shared_level,
        "co_units": [_ref(link.unit) for link in links if link.role == UnitRole.CO],
        "implementing_units": [
            _ref(link.unit) for link in links if link.role == UnitRole.IMPLEMENTING
        ],
        "acceptance_unit": _ref(problem.acceptance_unit),
        "task_force": problem.task_force,
        "target": problem.target,
        "deadline_immediate": problem.deadline_immediate,
        "deadline_by_date": problem.deadline_by_date,
        "deadline_ongoing": problem.deadline_ongoing,
        "original_deadline": problem.original_deadline,
        "acceptance_level": problem.acceptance_level,
        "acceptance_level_name": (
            levels[problem.acceptance_level]
            if under_acceptance and problem.acceptance_level < len(levels)
            else None
        ),
        "assigned_at": problem.assigned_at,
        "closed_at": problem.closed_at,
        "last_report_at": problem.last_report_at,
        "version": problem.version,
        "created_at": problem.created_at,
        "allowed_actions": [
            {"name": t.name, "label": str(t.label)} for t in actions.allowed_actions(problem, user)
        ],
        "measures": list(
            problem.measures.values("id", "order", "text", "owner", "due_date", "done", "note")
        ),
        "milestones": list(problem.milestones.values("id", "due_date", "percent", "description")),
        "reports": [
            {
                "id": report.pk,
                "period": report.period,
                "text": report.text,
                "percent": report.percent,
                "submitted_by": _ref(report.submitted_by),
                "submitted_at": report.submitted_at,
                "measure_updates": [
                    {"measure": u.measure_id, "note": u.note, "done": u.done}
                    for u in report.measure_updates.all()
                ],
            }
            for report in reports
        ],
        "evidence": [_evidence(request, e) for e in problem.evidence.select_related("uploaded_by")],
        "missing_materials": actions.missing_materials(problem),
        "closing_applications": [_application(a) for a in applications],
        "notice": notice
        and {
            "id": notice.pk,
            "status": notice.status,
            "starts_on": notice.starts_on,
            "ends_on": notice.ends_on,
            "text": notice.text,
            "objections": [
                {
                    "id": o.pk,
                    "text": o.text,
                    "recorded_by": _ref(o.recorded_by),
                    "recorded_at": o.recorded_at,
                }
                for o in notice.objections.all()
            ],
        },
        "extensions": [
            _extension(x) for x in problem.extensions.select_related("requested_by", "decided_by")
        ],
    }


# --- inspections ---------------------------------------------------------------------------


@router.get("/inspections", response=list[s.InspectionOut], tags=["inspections"])
def list_inspections(request):
    """The inspections whose region overlaps the caller's scope."""
    scope = inspection_scope_q(request.auth)
    if scope is None:
        return []
    return [
        {
            "code": i.code,
            "name": i.name,
            "kind": i.kind,
            "kind_label": str(i.get_kind_display()),
            "round_label": i.round_label,
            "target_region": _region(i.target_region),
            "stay_start": i.stay_start,
            "stay_end": i.stay_end,
            "feedback_date": i.feedback_date,
            "plan_due_date": i.plan_due_date,
            "report_cadence": i.report_cadence,
            "acceptance_levels": i.acceptance_levels,
            "notice_working_days": i.notice_working_days,
            "complaint_deadline_days": i.complaint_deadline_days,
            "closing_checklist": i.closing_checklist,
        }
        for i in Inspection.objects.filter(scope).select_related("target_region").distinct()
    ]


# --- problems: reading ---------------------------------------------------------------------


def _filter_parameters() -> list[dict]:
    """The list's query parameters for the OpenAPI document, read off the list page's form."""
    parameters = []
    for name, field in ProblemFilterForm.base_fields.items():
        if isinstance(field, forms.ModelChoiceField):
            schema = {"type": "string" if field.to_field_name else "integer"}
        elif isinstance(field, forms.MultipleChoiceField):
            schema = {"type": "array", "items": {"type": "string", "enum": _values(field)}}
        elif isinstance(field, forms.NullBooleanField):
            schema = {"type": "string", "enum": ["true", "false"]}
        elif isinstance(field, forms.ChoiceField):
            schema = {"type": "string", "enum": _values(field)}
        elif isinstance(field, forms.IntegerField):
            schema = {"type": "integer"}
        else:
            schema = {"type": "string"}
        parameters.append(
            {"in": "query", "name": name, "required": False, "schema": schema}
            | ({"description": field.label} if field.label else {})
        )
    parameters += [
        {
            "in": "query",
            "name": "cursor",
            "required": False,
            "schema": {"type": "string"},
            "description": "Where the page starts: the opaque cursor of the previous page's "
            "`next` link (its filters and sort kept). Constant time at any depth.",
        },
        {
            "in": "query",
            "name": "page",
            "required": False,
            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE},
            "description": "A page number, instead of a cursor; a deep page costs more.",
        },
        {
            "in": "query",
            "name": "count",
            "required": False,
            "schema": {"type": "string", "enum": ["true", "false"]},
            "description": "With true, the answer's `count` says how many problems match "
            "(this reads every one of them); null otherwise.",
        },
    ]
    return parameters


def _values(field) -> list[str]:
    return [value for value, _label in field.choices if value]


@router.get(
    "/problems",
    response={200: s.ProblemPage, 400: s.FilterError, 401: s.Error},
    tags=["problems"],
    openapi_extra={"parameters": _filter_parameters()},
)
def list_problems(request):
    """The ledger list: the same filters and sort orders as the list page.

    Walk it by following `next`: each next page starts after the last problem of the
    one before (a `cursor`), read off an index in the same time at any depth, and
    problems added meanwhile are neither repeated nor skipped. `page=N` still works,
    but a deep page number costs more. `count` (how many match) only with `count=true`.
    """
    user = request.auth
    form = ProblemFilterForm(request.GET, user=user)
    raw_cursor = request.GET.get("cursor")
    page = None if raw_cursor else page_number(request.GET.get("page"))
    if raw_cursor and request.GET.get("page"):
        message = _("Give either a page or a cursor, not both.")
        return Status(400, {"detail": message, "errors": {"cursor": [message]}})
    if not raw_cursor and page is None:
        message = _("Page must be a whole number from 1 to %(last)s.") % {"last": MAX_PAGE}
        return Status(400, {"detail": message, "errors": {"page": [message]}})
    want_count = request.GET.get("count", "false")
    if want_count not in ("true", "false"):
        message = _("Count must be true or false.")
        return Status(400, {"detail": message, "errors": {"count": [message]}})
    if not form.is_valid():
        errors = {name: [str(e) for e in errors] for name, errors in form.errors.items()}
        return Status(400, {"detail": form.error_text(), "errors": errors})
    ordering = SORTS[form.cleaned_data.get("sort") or "id"]
    after = None
    if raw_cursor:
        try:
            after = paging.read_cursor(raw_cursor, Problem, ordering)
        except paging.BadCursor as error:
            return Status(400, {"detail": str(error), "errors": {"cursor": [str(error)]}})
    problems = (
        form.apply(Problem.objects.visible_to(user))
        .select_related("inspection", "region", "lead_unit", "lead_official")
        .only(*LIST_ITEM_FIELDS)
    )
    size = settings.DUBAN_PAGE_SIZE
    if page is not None:
        start = (page - 1) * size
        rows = paging.rows_at(problems, start, size + 1)
    else:
        rows = paging.rows_after(problems, ordering, after, size + 1)
    next_url = None
    if len(rows) > size:
        rows = rows[:size]
        query = request.GET.copy()
        query.pop("page", None)
        query["cursor"] = paging.cursor_for(rows[-1], ordering)
        next_url = request.build_absolute_uri(f"{request.path}?{query.urlencode()}")
    today = timezone.localdate()
    return {
        "count": problems.count() if want_count == "true" else None,
        "page": page,
        "page_size": size,
        "next": next_url,
        "results": [_list_item(p, today) for p in rows],
    }


@router.get("/problems/{problem_id}", response={200: s.ProblemDetail} | ERRORS, tags=["problems"])
def get_problem(request, problem_id: int):
    return _detail(request, problem_id)


@router.get(
    "/problems/{problem_id}/timeline",
    response={200: list[s.AuditEventOut]} | ERRORS,
    tags=["problems"],
)
def problem_timeline(request, problem_id: int):
    """The problem's audit events, oldest first."""
    problem = get_problem_for_user(request.auth, problem_id)
    return [
        {
            "seq": e.seq,
            "at": e.at_text,
            "actor_id": e.actor_id,
            "actor_name": e.actor_name,
            "role": e.role,
            "action": e.action,
            "target_type": e.target_type,
            "target_id": e.target_id,
            "before": e.before,
            "after": e.after,
            "prev_hash": e.prev_hash,
            "hash": e.hash,
        }
        for e in AuditEvent.objects.filter(problem_id=problem.pk).order_by("seq")
    ]


# --- problems: registering and editing -----------------------------------------------------

# Fields that may be cleared with null in a PATCH; the others need a value.
NULLABLE = {"lead_unit", "lead_official", "acceptance_unit", "deadline", "shared_level"}


def _unit(pk, field):
    if pk is None:
        return None
    unit = Unit.objects.filter(pk=pk).select_related("region").first()
    if unit is None:
        raise actions.InvalidInput(_("No such unit: %(id)s.") % {"id": pk}, field)
    return unit


def _units(pks, field):
    units = list(Unit.objects.filter(pk__in=pks))
    if len(units) != len(set(pks)):
        raise actions.InvalidInput(_("One of the units does not exist."), field)
    return units


def _lead_official(pk):
    if pk is None:
        return None
    is_lead = Membership.objects.filter(user_id=pk, role=Role.LEAD_OFFICIAL, user__is_active=True)
    if not is_lead.exists():
        raise actions.InvalidInput(_("This user is not a lead official."), "lead_official")
    return User.objects.get(pk=pk)


def _problem_input(data: dict) -> tuple[dict, dict]:
    """Turn posted problem fields into what the actions take: model fields and the lists."""
    fields, lists = {}, {}
    for name, value in data.items():
        if value is None and name not in NULLABLE:
            raise actions.InvalidInput(_("This field cannot be empty."), name)
        if name == "region":
            region = Region.objects.filter(code=value).first()
            if region is None:
                raise actions.InvalidInput(_("No such region: %(code)s.") % {"code": value}, name)
            fields[name] = region
        elif name in ("lead_unit", "acceptance_unit"):
            fields[name] = _unit(value, name)
        elif name == "lead_official":
            fields[name] = _lead_official(value)
        elif name == "shared_level":
            fields[name] = getattr(value, "value", value) or ""
        elif name in ("co_units", "implementing_units"):
            lists[name] = _units(value, name)
        elif name == "measures":
            lists[name] = [
                actions.MeasureInput(m["text"], m["owner"], m["due_date"]) for m in value
            ]
        elif name == "milestones":
            lists[name] = [
                actions.MilestoneInput(m["due_date"], m["percent"], m["description"]) for m in value
            ]
        else:
            # Choice enums arrive as their str subclass; store the plain value.
            fields[name] = getattr(value, "value", value)
    return fields, lists


@router.post("/problems", response={201: s.ProblemDetail} | ERRORS, tags=["problems"])
def create_problem(request, payload: s.ProblemCreateIn):
    """Register a problem (office of the problem's region)."""
    user = request.auth
    data = payload.dict()
    scope = inspection_scope_q(user)
    code = data.pop("inspection")
    inspection = Inspection.objects.filter(scope, code=code).first() if scope else None
    if inspection is None:
        raise actions.InvalidInput(
            _("No such inspection: %(code)s.") % {"code": code}, "inspection"
        )
    fields, lists = _problem_input(data)
    problem = actions.create_problem(by=user, inspection=inspection, fields=fields, **lists)
    return Status(201, _detail(request, problem.pk))


def _edit(request, problem_id, payload: s.ProblemFieldsIn):
    problem = get_problem_for_user(request.auth, problem_id)
    _expect_version(request, problem, payload.version)
    fields, lists = _problem_input(payload.dict(exclude_unset=True, exclude={"version"}))
    actions.update_problem(problem, by=request.auth, fields=fields, **lists)
    return _detail(request, problem_id)


@router.patch(
    "/problems/{problem_id}", response={200: s.ProblemDetail} | WRITE_ERRORS, tags=["problems"]
)
def update_problem(request, problem_id: int, payload: s.ProblemFieldsIn):
    """Edit a problem (office); only the fields sent change, lists sent replace the old ones."""
    return _edit(request, problem_id, payload)


VERSIONED_OPERATIONS.add("update_problem")


# --- actions: one route per transition in duban/ledger/transitions.py ------------------------

ACTION_ROUTES: dict[str, str] = {}


def action(name):
    """Register a POST route for transition `name`, answering with the problem's new detail."""

    def register(view):
        from duban.ledger.transitions import TRANSITIONS

        ACTION_ROUTES[name] = view.__name__
        VERSIONED_OPERATIONS.add(view.__name__)
        return router.post(
            f"/problems/{{problem_id}}/actions/{name}",
            response={200: s.ProblemDetail} | WRITE_ERRORS,
            tags=["actions"],
            summary=TRANSITIONS[name].label,
            url_name=f"action_{name}",
        )(view)

    return register


def _act(request, problem_id, run, version: int | None):
    """Run an action on the problem, if the caller's version of it is the current one."""
    problem = get_problem_for_user(request.auth, problem_id)
    _expect_version(request, problem, version)
    run(problem, request.auth)
    return _detail(request, problem_id)


def _body(payload) -> dict:
    """An action body's values for the action (the version is the API's, not the action's)."""
    return payload.dict(exclude={"version"})


@action("edit")
def action_edit(request, problem_id: int, payload: s.ProblemFieldsIn):
    return _edit(request, problem_id, payload)


@action("split")
def action_split(request, problem_id: int, payload: s.SplitIn):
    children = []
    for child in payload.children:
        values = child.dict()
        values["lead_unit"] = _unit(values["lead_unit"], "lead_unit")
        children.append(values)
    return _act(
        request,
        problem_id,
        lambda p, u: actions.split_problem(p, by=u, children=children),
        payload.version,
    )


@action("assign")
def action_assign(request, problem_id: int):
    return _act(request, problem_id, lambda p, u: actions.assign(p, by=u), BODY)


@action("claim")
def action_claim(request, problem_id: int):
    return _act(request, problem_id, lambda p, u: actions.claim(p, by=u), BODY)


@action("save_plan")
def action_save_plan(request, problem_id: int, payload: s.PlanIn):
    _fields, lists = _problem_input(payload.dict(include={"measures", "milestones"}))
    return _act(
        request,
        problem_id,
        lambda p, u: actions.save_plan(
            p, by=u, target=payload.target, version=payload.version, **lists
        ),
        payload.version,
    )


@action("submit_plan")
def action_submit_plan(request, problem_id: int):
    return _act(request, problem_id, lambda p, u: actions.submit_plan(p, by=u), BODY)


@action("approve_plan")
def action_approve_plan(request, problem_id: int, payload: s.NoteIn):
    return _act(
        request,
        problem_id,
        lambda p, u: actions.approve_plan(p, by=u, note=payload.note),
        payload.version,
    )


@action("reject_plan")
def action_reject_plan(request, problem_id: int, payload: s.ReasonsIn):
    return _act(
        request,
        problem_id,
        lambda p, u: actions.reject_plan(p, by=u, reasons=payload.reasons),
        payload.version,
    )


@action("report_progress")
def action_report_progress(request, problem_id: int, payload: s.ProgressIn):
    updates = [(m.measure, m.note, m.done) for m in payload.measure_updates]
    return _act(
        request,
        problem_id,
        lambda p, u: actions.report_progress(
            p,
            by=u,
            period=payload.period,
            text=payload.text,
            percent=payload.percent,
            measure_updates=updates,
        ),
        payload.version,
    )


@action("upload_evidence")
def action_upload_evidence(
    request,
    problem_id: int,
    category: Form[str],
    files: File[list[UploadedFile]],
    title: Form[str] = "",
    version: Form[int | None] = None,
):
    """Upload files as multipart/form-data: `files` (repeatable), `category` (a checklist
    category such as 现场照片), an optional `title`, and the problem's `version` (or If-Match)."""
    return _act(
        request,
        problem_id,
        lambda p, u: actions.upload_evidence(p, by=u, files=files, category=category, title=title),
        version,
    )


@action("request_extension")
def action_request_extension(request, problem_id: int, payload: s.ExtensionRequestIn):
    return _act(
        request,
        problem_id,
        lambda p, u: actions.request_extension(p, by=u, **_body(payload)),
        payload.version,
    )


def _extension_for_user(user, extension_id) -> Extension:
    extension = (
        Extension.objects.select_related("problem__inspection")
        .filter(pk=extension_id, problem__in=Problem.objects.visible_to(user).values("pk"))
        .first()
    )
    if extension is None:
        raise Http404
    return extension


@action("decide_extension")
def action_decide_extension(request, problem_id: int, payload: s.ProblemExtensionDecisionIn):
    problem = get_problem_for_user(request.auth, problem_id)
    extension = _extension_for_user(request.auth, payload.extension)
    if extension.problem_id != problem.pk:
        raise Http404
    _expect_version(request, problem, payload.version)
    actions.decide_extension(extension, by=request.auth, approve=payload.approve, note=payload.note)
    return _detail(request, problem_id)


@action("apply_for_closing")
def action_apply_for_closing(request, problem_id: int, payload: s.ApplicationIn):
    return _act(
        request,
        problem_id,
        lambda p, u: actions.apply_for_closing(p, by=u, **_body(payload)),
        payload.version,
    )


@action("edit_application")
def action_edit_application(request, problem_id: int, payload: s.ApplicationIn):
    return _act(
        request,
        problem_id,
        lambda p, u: actions.edit_application(p, by=u, **_body(payload)),
        payload.version,
    )


@action("withdraw_application")
def action_withdraw_application(request, problem_id: int):
    return _act(
        request,
        problem_id,
        lambda p, u: actions.withdraw_application(p, by=u),
        BODY,
    )


@action("sign")
def action_sign(request, problem_id: int, payload: s.StatementIn):
    return _act(
        request,
        problem_id,
        lambda p, u: actions.sign(p, by=u, statement=payload.statement),
        payload.version,
    )


@action("endorse")
def action_endorse(request, problem_id: int, payload: s.StatementIn):
    return _act(
        request,
        problem_id,
        lambda p, u: actions.endorse(p, by=u, statement=payload.statement),
        payload.version,
    )


@action("accept")
def action_accept(request, problem_id: int, payload: s.SiteCheckIn):
    return _act(
        request,
        problem_id,
        lambda p, u: actions.accept(p, by=u, site_check=payload.site_check),
        payload.version,
    )


@action("return")
def action_return(request, problem_id: int, payload: s.ReturnIn):
    return _act(
        request,
        problem_id,
        lambda p, u: actions.return_application(
            p, by=u, site_check=payload.site_check, reasons=payload.reasons
        ),
        payload.version,
    )


@action("record_objection")
def action_record_objection(request, problem_id: int, payload: s.ObjectionIn):
    return _act(
        request,
        problem_id,
        lambda p, u: actions.record_objection(p, by=u, text=payload.text),
        payload.version,
    )


@action("end_notice")
def action_end_notice(request, problem_id: int):
    return _act(request, problem_id, lambda p, u: actions.end_notice(p, by=u), BODY)


@router.post(
    "/problems/{problem_id}/actions/{name}", response=ERRORS, tags=["actions"], url_name="action"
)
def unknown_action(request, problem_id: int, name: str):
    """Any other action name: not found (registered last, after the real ones)."""
    raise Http404


# --- extensions and evidence -----------------------------------------------------------------


@router.post(
    "/extensions/{extension_id}/decision",
    response={200: s.ExtensionOut} | WRITE_ERRORS,
    tags=["actions"],
)
def decide_extension(request, extension_id: int, payload: s.ExtensionDecisionIn):
    """Approve or reject an extension request (office); `version` is its problem's."""
    extension = _extension_for_user(request.auth, extension_id)
    _expect_version(request, extension.problem, payload.version)
    extension = actions.decide_extension(
        extension, by=request.auth, approve=payload.approve, note=payload.note
    )
    extension = Extension.objects.select_related("requested_by", "decided_by").get(pk=extension.pk)
    return _extension(extension)


@router.get(
    "/evidence/{evidence_id}/file", response=ERRORS, tags=["evidence"], url_name="evidence_file"
)
def evidence_file(request, evidence_id: int):
    """The stored file, as uploaded (check it against the listed sha256)."""
    evidence = get_evidence_for_user(request.auth, evidence_id)
    try:
        response = evidence_response(evidence, by=request.auth)
    except StoredFileChanged as changed:
        return api.create_response(request, {"detail": str(changed)}, status=409)
    if response is None:
        # In scope, so saying what is missing reveals nothing the caller may not know.
        return api.create_response(
            request, {"detail": _("The stored file is missing.")}, status=404
        )
    return response


@router.post(
    "/evidence/{evidence_id}/review",
    response={200: s.ProblemDetail} | WRITE_ERRORS,
    tags=["evidence"],
)
def review_evidence(request, evidence_id: int):
    """Mark a file as checked (head of the lead unit); `version` is its problem's."""
    evidence = get_evidence_for_user(request.auth, evidence_id)
    _expect_version(request, evidence.problem, BODY)
    actions.review_evidence(evidence, by=request.auth)
    return _detail(request, evidence.problem_id)


VERSIONED_OPERATIONS.update({"decide_extension", "review_evidence"})


api.add_router("/", router)


# --- the route list, for tests that walk every route with every role --------------------------

Route = namedtuple("Route", "method path")


def api_route_inventory() -> list[Route]:
    """Every route under /api/v1/ as (method, path).

    Paths are templates such as "/api/v1/problems/{problem_id}/actions/claim"; the
    parameters are problem_id, extension_id, evidence_id and name. The OpenAPI
    document is the source, so a new route appears here without further work; the
    document and the docs page are added. (ninja's root "/api/v1/" is left out: it
    only answers 404, to everyone, and exists so that ninja can reverse its prefix.)
    """
    root = reverse("api:api-root")
    routes = [
        Route("GET", root + api.openapi_url.lstrip("/")),
        Route("GET", root + api.docs_url.lstrip("/")),
    ]
    schema = api.get_openapi_schema(path_prefix=root)
    for path, operations in schema["paths"].items():
        routes.extend(Route(method.upper(), path) for method in operations)
    return routes

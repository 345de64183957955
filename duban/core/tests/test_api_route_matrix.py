"""Every API route, the positive side: the right role in scope gets in, its twin out of scope
gets 404, and the problem's other readers are refused with 403.

test_route_matrix.py walks the API with those who cannot see anything (404 on every route about
an object, empty lists, 401 without a token). Here API_RIGHTS says, for each route of
/api/v1/, who may use it; a new route without an entry fails
`test_it_says_who_may_use_every_api_route`. A route that changes a problem is walked on a fresh
problem in the state it starts from, with a real, valid body, in this order: everyone who must
be refused (with the problem's current version, so that permission is the only reason), then the
holder without a version (428), with a stale one (409), and with the current one (success).
The routes that only read share one scene.

The twins are those of the page matrix (far_twins): the same roles at units of 杭州市, outside
湖州市 where the scene's problems lie.
"""

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from duban.accounts.models import ApiToken
from duban.core.tests.test_route_matrix import BLIND, SEES, TWIN, far_twins
from duban.ledger.models import Evidence, Problem

PREFIX = "/api/v1"


@dataclass(frozen=True)
class Read:
    """A route that changes nothing: `holders` get 200, their twins 404, other readers 403."""

    holders: list[str]
    # "list": everyone gets 200, and only the holders find the scene's object in it;
    # "any": every caller with a token gets 200 (no twin: nothing in it is scoped).
    kind: str = "object"


@dataclass(frozen=True)
class Write:
    """A route that changes a problem in `state`; `body(ctx)` is a real, valid body."""

    holders: list[str]
    state: str
    body: Callable[[dict], dict] = lambda ctx: {}
    status: int = 200
    # Which object the path names, made by SETUP[...] on the fresh problem.
    setup: str = ""
    versioned: bool = True
    multipart: bool = False
    # The designed refusal for the problem's readers without the right.
    refusal: tuple = (403,)
    twin_refusal: tuple = (404,)
    # Those who cannot see the problem at all (BLIND): it does not exist for them.
    blind_refusal: tuple = (404,)
    # How to tell the holder's change was made (default: the problem's version moved on).
    done: Callable[[dict], bool] | None = None


def _later(days):
    return (dt.date.today() + dt.timedelta(days=days)).isoformat()


PLAN = {
    "target": "2026年底前全部淘汰燃煤小锅炉",
    "measures": [{"text": "逐家拆除", "owner": "吴兴区生态环境分局"}],
    "milestones": [],
}
APPLICATION = {"summary": "燃煤小锅炉已全部拆除。", "self_check": "经自查，已完成整改。"}

# (method, path under /api/v1) → who may use it, and how.
API_RIGHTS = {
    # Any caller with a token may read the document and the docs page.
    # (One caller in scope, one without any, one in another city: the document costs ~0.2 s.)
    ("GET", "/openapi.json"): Read(["liaison", "outsider", "far_office"], kind="any"),
    ("GET", "/docs"): Read(["liaison", "outsider", "far_office"], kind="any"),
    # Scoped lists: everyone gets 200; the scene's problem (inspection) only in scope.
    ("GET", "/problems"): Read(SEES, kind="list"),
    ("GET", "/inspections"): Read(SEES, kind="list"),
    ("GET", "/problems/{problem_id}"): Read(SEES),
    ("GET", "/problems/{problem_id}/timeline"): Read(SEES),
    ("GET", "/evidence/{evidence_id}/file"): Read(SEES),
    # Registering: the office of the problem's region. The twin (the office of 杭州市) may
    # register in its own region only: for 吴兴区 it is refused like any other role.
    ("POST", "/problems"): Write(
        ["office"],
        state="",
        body=lambda ctx: {
            "inspection": ctx["world"].inspection.code,
            "feedback_text": "督察发现，吴兴区部分河道存在黑臭水体。",
            "title": "河道黑臭水体整治不到位",
            "ledger_number": "第99号",
            "region": ctx["world"].wuxing.code,
            "lead_unit": ctx["world"].eco.pk,
            "deadline": _later(200),
        },
        status=201,
        versioned=False,
        twin_refusal=(403,),
        # The liaison of another district is refused (403); to those who cannot see the
        # inspection it does not exist (400 on the field `inspection`).
        blind_refusal=(400, 403),
        done=lambda ctx: Problem.objects.filter(ledger_number="第99号").exists(),
    ),
    ("PATCH", "/problems/{problem_id}"): Write(
        ["office"], "registered", lambda ctx: {"title": "燃煤小锅炉淘汰不彻底"}
    ),
    ("POST", "/problems/{problem_id}/actions/edit"): Write(
        ["office"], "registered", lambda ctx: {"title": "燃煤小锅炉淘汰不彻底"}
    ),
    ("POST", "/problems/{problem_id}/actions/split"): Write(
        ["office"],
        "registered",
        lambda ctx: {"children": [{"lead_unit": ctx["world"].wuxing_acceptance.pk}]},
    ),
    ("POST", "/problems/{problem_id}/actions/assign"): Write(["office"], "registered"),
    ("POST", "/problems/{problem_id}/actions/claim"): Write(["liaison"], "assigned"),
    ("POST", "/problems/{problem_id}/actions/save_plan"): Write(
        ["liaison"], "claimed", lambda ctx: PLAN
    ),
    ("POST", "/problems/{problem_id}/actions/submit_plan"): Write(["liaison"], "claimed"),
    ("POST", "/problems/{problem_id}/actions/approve_plan"): Write(
        ["office"], "plan_submitted", lambda ctx: {"note": "同意"}
    ),
    ("POST", "/problems/{problem_id}/actions/reject_plan"): Write(
        ["office"], "plan_submitted", lambda ctx: {"reasons": "措施不具体，请细化。"}
    ),
    ("POST", "/problems/{problem_id}/actions/report_progress"): Write(
        ["liaison"],
        "in_progress",
        lambda ctx: {"period": "2026年6月", "text": "已拆除3台。", "percent": 40},
    ),
    ("POST", "/problems/{problem_id}/actions/upload_evidence"): Write(
        ["liaison"],
        "claimed",
        lambda ctx: {"category": "整改报告", "files": [_pdf()]},
        multipart=True,
    ),
    ("POST", "/problems/{problem_id}/actions/request_extension"): Write(
        ["liaison"],
        "claimed",
        lambda ctx: {
            "reasons": "受汛期影响",
            "efforts": "已完成排查",
            "roadmap": "2027年3月底前完成",
            "new_deadline": (ctx["problem"].deadline + dt.timedelta(days=60)).isoformat(),
        },
    ),
    ("POST", "/problems/{problem_id}/actions/decide_extension"): Write(
        ["office"],
        "claimed",
        lambda ctx: {"extension": ctx["extension"].pk, "approve": True},
        setup="extension",
    ),
    ("POST", "/problems/{problem_id}/actions/apply_for_closing"): Write(
        ["liaison"], "in_progress", lambda ctx: APPLICATION, setup="checklist"
    ),
    ("POST", "/problems/{problem_id}/actions/edit_application"): Write(
        ["liaison"], "closing_applied", lambda ctx: APPLICATION | {"summary": "已拆除并复查。"}
    ),
    ("POST", "/problems/{problem_id}/actions/withdraw_application"): Write(
        ["liaison"], "closing_applied"
    ),
    ("POST", "/problems/{problem_id}/actions/sign"): Write(
        ["unit_head"], "closing_applied", lambda ctx: {"statement": "情况属实，同意申请销号。"}
    ),
    ("POST", "/problems/{problem_id}/actions/endorse"): Write(
        ["lead_official"], "closing_applied", lambda ctx: {"statement": "同意。"}
    ),
    # The first level of acceptance is the county's: the city's acceptor waits its turn (403).
    ("POST", "/problems/{problem_id}/actions/accept"): Write(
        ["county_acceptor"], "under_acceptance", lambda ctx: {"site_check": "现场核查属实。"}
    ),
    ("POST", "/problems/{problem_id}/actions/return"): Write(
        ["county_acceptor"],
        "under_acceptance",
        lambda ctx: {"site_check": "现场核查", "reasons": "仍有一台未拆除。"},
    ),
    ("POST", "/problems/{problem_id}/actions/record_objection"): Write(
        ["office"], "public_notice", lambda ctx: {"text": "群众反映仍有锅炉在用。"}
    ),
    ("POST", "/problems/{problem_id}/actions/end_notice"): Write(
        ["office"], "public_notice", setup="notice_over"
    ),
    # Any other action name: not found, for everyone (the scene's claimed problem).
    ("POST", "/problems/{problem_id}/actions/{name}"): Write(
        [], "claimed", status=404, refusal=(404,)
    ),
    ("POST", "/extensions/{extension_id}/decision"): Write(
        ["office"], "claimed", lambda ctx: {"approve": True}, setup="extension"
    ),
    # Reviewing a file records who checked it; the problem's version stays.
    ("POST", "/evidence/{evidence_id}/review"): Write(
        ["unit_head"],
        "claimed",
        setup="evidence",
        done=lambda ctx: Evidence.objects.get(pk=ctx["evidence"].pk).reviewed_at is not None,
    ),
}
READS = [route for route, right in API_RIGHTS.items() if isinstance(right, Read)]
WRITES = [route for route, right in API_RIGHTS.items() if isinstance(right, Write)]


def _pdf():
    from duban.ledger.tests.flow import pdf_bytes

    return SimpleUploadedFile("整改报告.pdf", pdf_bytes(), "application/pdf")


def _router_routes():
    """(method, path) of every operation the ninja routers hold, in the schema or not."""
    from duban.api.api import api

    routes = set()
    for prefix, router in api._routers:
        for path, path_view in router.path_operations.items():
            full = "/" + "/".join(part.strip("/") for part in (prefix, path) if part.strip("/"))
            routes.update((method, full) for op in path_view.operations for method in op.methods)
    return routes


def test_it_says_who_may_use_every_api_route():
    from duban.api.api import api_route_inventory

    documented = {(m, p.removeprefix(PREFIX)) for m, p in api_route_inventory()}
    routed = _router_routes()
    assert routed <= documented, f"routes left out of the OpenAPI document: {routed - documented}"
    undecided = sorted(documented - set(API_RIGHTS))
    assert undecided == [], f"API routes without an entry in API_RIGHTS: {undecided}"
    gone = sorted(set(API_RIGHTS) - documented)
    assert gone == [], f"API_RIGHTS entries for routes that no longer exist: {gone}"


# --- callers ---------------------------------------------------------------------------------


class Callers:
    """One bearer token per user, issued when first needed."""

    def __init__(self, world):
        self.world = world
        self.clients = {}

    def __call__(self, username) -> Client:
        if username not in self.clients:
            _, key = ApiToken.issue(self.world.users[username], "matrix")
            self.clients[username] = Client(headers={"Authorization": f"Bearer {key}"})
        return self.clients[username]


def _twins(holders):
    return sorted({TWIN[u] for u in holders if u in TWIN} - set(holders))


@pytest.fixture
def hangzhou(world):
    from duban.org.models import Region

    region = Region.objects.create(
        code="330100", name="杭州市", level="city", parent=world.city.parent
    )
    far_twins(world, region)
    return region


# --- reading: one scene ----------------------------------------------------------------------


def test_it_lets_the_readers_in_scope_read_and_keeps_their_twins_out(world, hangzhou, media_root):
    from duban.inspections.models import Inspection
    from duban.ledger.tests.flow import claimed_with_file_and_extension

    problem, evidence, _extension = claimed_with_file_and_extension(world)
    # An inspection of 湖州市 alone: 杭州市 does not overlap it (the world's is the province's).
    own = Inspection.objects.create(
        code="huzhou-self-2026",
        name="湖州市生态环境保护自查",
        kind="self",
        target_region=world.city,
    )
    values = {"problem_id": problem.pk, "evidence_id": evidence.pk}
    # What a list shows of the scene: the problem's id, the inspection's code.
    listed = {
        "/problems": lambda page: [row["id"] for row in page["results"]],
        "/inspections": lambda rows: [row["code"] for row in rows],
    }
    marks = {"/problems": problem.pk, "/inspections": own.code}
    as_ = Callers(world)
    wrong = []
    for route in READS:
        method, template = route
        right = API_RIGHTS[route]
        path = PREFIX + template.format(**values)
        twins = [] if right.kind == "any" else _twins(right.holders)
        for username in right.holders + twins:
            response = as_(username).generic(method, path)
            got = response.status_code
            if right.kind == "any":
                if got != 200:
                    wrong.append(f"{username} {method} {path} → {got}, not 200")
                continue
            if right.kind == "list":
                found = got == 200 and marks[template] in listed[template](response.json())
                if got != 200 or found != (username in right.holders):
                    wrong.append(f"{username} {method} {path} → {got}, found={found}")
                continue
            expected = 200 if username in right.holders else 404
            if got != expected:
                wrong.append(f"{username} {method} {path} → {got}, not {expected}")
            if got == 200 and template.endswith("/file"):
                b"".join(response.streaming_content)  # read to the end: the file is closed
    assert wrong == [], "\n".join(wrong)


# --- changing: a fresh problem for each route ------------------------------------------------


def _setup(world, right):
    """The problem the route starts from, and the objects its path and body name."""
    from duban.ledger import actions
    from duban.ledger.models import PublicNotice
    from duban.ledger.tests.flow import (
        Cast,
        claimed_with_file_and_extension,
        problem_in,
        upload_checklist,
    )

    ctx = {"world": world}
    if not right.state:
        return ctx
    if right.setup in ("extension", "evidence"):
        ctx["problem"], ctx["evidence"], ctx["extension"] = claimed_with_file_and_extension(world)
        return ctx
    problem = problem_in(world, right.state)
    if right.setup == "checklist":
        upload_checklist(problem, Cast(world))
    elif right.setup == "notice_over":
        notice = actions.open_notice(problem)
        yesterday = dt.date.today() - dt.timedelta(days=1)
        PublicNotice.objects.filter(pk=notice.pk).update(
            starts_on=yesterday - dt.timedelta(days=10), ends_on=yesterday
        )
    ctx["problem"] = problem
    return ctx


def _path(template, ctx):
    values = {
        "problem_id": ctx["problem"].pk if "problem" in ctx else None,
        "evidence_id": ctx["evidence"].pk if "evidence" in ctx else None,
        "extension_id": ctx["extension"].pk if "extension" in ctx else None,
        "name": "fly",
    }
    return PREFIX + template.format(**values)


def _call(client, method, path, right, body, *, version=None, if_match=None):
    headers = {"If-Match": if_match} if if_match else {}
    data = dict(body) | ({"version": version} if version is not None else {})
    if right.multipart:
        return client.post(path, data, headers=headers)
    return client.generic(
        method, path, json.dumps(data), content_type="application/json", headers=headers
    )


def _version(ctx):
    if "problem" not in ctx:
        return None
    ctx["problem"].refresh_from_db()
    return ctx["problem"].version


@pytest.mark.parametrize("route", WRITES, ids=[f"{m} {p}" for m, p in WRITES])
def test_it_lets_the_right_role_in_scope_change_the_problem_and_refuses_everyone_else(
    world, hangzhou, media_root, route
):
    method, template = route
    right = API_RIGHTS[route]
    ctx = _setup(world, right)
    path = _path(template, ctx)
    as_ = Callers(world)
    twins = _twins(right.holders)
    wrong = []

    def check(username, expected, response):
        if response.status_code not in expected:
            detail = response.content.decode()[:200]
            wrong.append(f"{username} {method} {path} → {response.status_code}, not {expected}")
            wrong.append(f"    {detail}")

    def changed(before):
        return right.done(ctx) if right.done else _version(ctx) != before

    def call(username, **kwargs):
        return _call(as_(username), method, path, right, right.body(ctx), **kwargs)

    # Refusals first, each with a valid body and the current version: only the right is missing.
    before = _version(ctx)
    for username in twins:
        check(username, right.twin_refusal, call(username, version=before))
    for username in SEES + BLIND:
        if username not in right.holders:
            refusal = right.blind_refusal if username in BLIND else right.refusal
            check(username, refusal, call(username, version=before))
    assert not changed(before), f"a refused request changed the problem ({method} {path})"
    # Single holders: the first success moves the problem on.
    for username in right.holders:
        if right.versioned:
            check(username, (428,), call(username))
            check(username, (409,), call(username, if_match=f'"v{before + 1}"'))
            assert not changed(before), f"{username}: a refused request changed the problem"
        response = call(username, version=before)
        check(username, (right.status,), response)
        if response.status_code == right.status:
            assert changed(before), f"{username} {method} {path} answered {right.status}, no change"
    assert wrong == [], "\n".join(wrong)

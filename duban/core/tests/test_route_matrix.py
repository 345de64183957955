"""Every URL pattern and every API route, walked with every role and the outsider.

Each route must have a decision below; a new route without one fails
`test_it_has_a_decision_for_every_route`. For routes about one problem or one
file, everyone who cannot see that problem gets 404 — on GET and on POST — and
nobody learns whether it exists.
"""

import datetime as dt
import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from duban.accounts.models import ApiToken

# What each named page route is about.
#   public: anyone, no login
#   own: about the logged-in user only (no other object in the URL)
#   list: a scoped list; users without scope see it empty
#   office: an office-only form with no object in the URL (403 for others)
#   sysadmin / auditor: pages of the system or audit administrator (403 for others)
#   problem / evidence / extension / inspection: one business object; out of scope → 404
#   account: one user account, managed by a sysadmin of its region; everyone else → 404
#   event: one audit event, read by the auditor; everyone else → 404
#   import_job: one upload of a rectification list, opened by the office staff of its region
#   export: a scoped download of the ledger; users without scope get a workbook without rows
#   discipline: pages of the discipline inspectors (403 for others)
#   export_job: one background export, seen by the user who asked for it
#   notification: one notification, its recipient's
#   robot: a unit's group robot, set up by the office of the unit's region
#   notice / interview: a supervision notice (督办通知) or interview (约谈) of a unit
#   circular: a circular (督查通报); accountability: a record for the discipline role
#   lookback_draw / lookback_check: a look-back draw and one of its checks
PAGE_DECISIONS = {
    "home": "own",
    "healthz": "public",
    "login": "public",
    "logout": "own",
    "accounts:profile": "own",
    "accounts:password_change": "own",
    "accounts:password_change_done": "own",
    "accounts:token_create": "own",
    "accounts:token_revoke": "own",
    "accounts:set_language": "public",
    "twofactor:overview": "own",
    "twofactor:setup": "own",
    "twofactor:setup_qr": "own",
    "twofactor:verify": "own",
    "twofactor:recovery_codes": "own",
    "twofactor:turn_off": "own",
    "twofactor:admin_reset": "account",
    "ledger:problem_list": "list",
    "ledger:problem_create": "office",
    "ledger:problem_detail": "problem",
    "ledger:problem_edit": "problem",
    "ledger:problem_action": "problem",
    "ledger:evidence_download": "evidence",
    "ledger:evidence_thumbnail": "evidence",
    "ledger:evidence_review": "evidence",
    "inspections:list": "list",
    "inspections:create": "office",
    "inspections:detail": "inspection",
    "inspections:edit": "inspection",
    "account_admin:user_list": "sysadmin",
    "account_admin:user_create": "sysadmin",
    "account_admin:user_detail": "account",
    "account_admin:membership_add": "account",
    "account_admin:membership_remove": "account",
    "account_admin:password_reset": "account",
    "account_admin:unlock": "account",
    "audit:event_list": "auditor",
    "audit:verify": "auditor",
    "audit:export": "auditor",
    "audit:event_detail": "event",
    "render:closing_record_docx": "problem",
    "render:closing_record_pdf": "problem",
    "render:supervision_notice_docx": "office",
    "render:supervision_notice_pdf": "office",
    "render:progress_report_docx": "inspection",
    "render:progress_report_pdf": "inspection",
    "render:public_notice_docx": "inspection",
    "render:public_notice_pdf": "inspection",
    "documents:ledger_export": "export",
    "documents:import_upload": "office",
    "documents:import_preview": "import_job",
    "documents:import_commit": "import_job",
    "documents:import_progress": "import_job",
    "documents:import_run_again": "import_job",
    "feedback:upload": "office",
    "feedback:review": "office",
    "documents:export_progress": "export_job",
    "documents:export_download": "export_job",
    "documents:export_run_again": "export_job",
    "supervision:late_reports": "office",
    "workcalendar:year": "office",
    "workcalendar:remove": "office",
    "notify:inbox": "own",
    "notify:mark_all_read": "own",
    "notify:preferences": "own",
    "notify:mark_read": "notification",
    "notify:robot_list": "office",
    "notify:robot_edit": "robot",
    "notify:robot_delete": "robot",
    "notify:robot_test": "robot",
    "escalation:notice_list": "list",
    "escalation:notice_detail": "notice",
    "escalation:notice_acknowledge": "notice",
    "escalation:notice_answer": "notice",
    "escalation:notice_document_docx": "notice",
    "escalation:notice_document_pdf": "notice",
    "escalation:circular_list": "list",
    "escalation:circular_detail": "circular",
    "escalation:circular_approve": "circular",
    "escalation:circular_discard": "circular",
    "escalation:circular_document_docx": "circular",
    "escalation:circular_document_pdf": "circular",
    "escalation:interview_detail": "interview",
    "escalation:policy_edit": "inspection",
    "escalation:record_list": "discipline",
    "escalation:record_create": "discipline",
    "escalation:record_edit": "accountability",
    "lookback:overview": "list",
    "lookback:draw_create": "office",
    "lookback:draw_detail": "lookback_draw",
    "lookback:check_detail": "lookback_check",
    "lookback:check_evidence": "lookback_check",
}
# Kinds with page routes (extensions are reached through their problem's pages and the API).
OBJECT_KINDS = (
    "problem",
    "evidence",
    "inspection",
    "account",
    "event",
    "import_job",
    "export_job",
    "notification",
    "robot",
    "notice",
    "circular",
    "interview",
    "accountability",
    "lookback_draw",
    "lookback_check",
)

# Those who can see the test problem (吴兴 生态环境分局, led by world.lead_official) …
SEES = [
    "office",
    "liaison",
    "unit_head",
    "lead_official",
    "county_acceptor",
    "city_acceptor",
    "discipline",
    "viewer",
]
# … and those who cannot.
BLIND = ["other_liaison", "auditor", "sysadmin", "outsider"]
EVERYONE = SEES + BLIND
# Who may open each kind of object in the scene, of the world's users.
READERS = {
    "problem": SEES,
    "evidence": SEES,
    "extension": SEES,
    "inspection": [],  # the scene's inspection belongs to another city
    "account": ["sysadmin"],
    "event": ["auditor"],
    "import_job": ["office"],
    "export_job": ["office"],  # the one who asked for it
    "notification": ["liaison"],  # its recipient
    "robot": ["office"],
    # A unit's notices and interviews: its liaison and head, and the region's readers.
    "notice": ["office", "liaison", "unit_head", "discipline", "viewer"],
    "interview": ["office", "liaison", "unit_head", "discipline", "viewer"],
    # An issued circular: the region's readers, and the units it names.
    "circular": ["office", "liaison", "unit_head", "discipline", "viewer"],
    "accountability": ["discipline"],
    "lookback_draw": ["office"],
    "lookback_check": ["office", "county_acceptor"],  # the office and the drawn checker
}


def _named_patterns(resolver=None, namespace=""):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _named_patterns(entry, ns)
        elif isinstance(entry, URLPattern):
            yield (f"{namespace}{entry.name}" if entry.name else None), entry


def _page_routes():
    """Every named page route; API routes are walked by method and path below."""
    return [
        (name, pattern)
        for name, pattern in _named_patterns()
        if not (name or "").startswith("api") and not str(pattern.pattern).startswith("static")
    ]


@pytest.fixture
def scene(world, media_root):
    """One object of each kind, each readable only by READERS[kind]."""
    from django.core.files.base import ContentFile

    from duban.audit.models import AuditEvent
    from duban.documents.models import ImportJob
    from duban.inspections.models import Inspection
    from duban.ledger.tests.flow import claimed_with_file_and_extension
    from duban.org.models import Region

    problem, evidence, extension = claimed_with_file_and_extension(world)
    hangzhou = Region.objects.create(
        code="330100", name="杭州市", level="city", parent=world.city.parent
    )
    inspection = Inspection.objects.create(
        code="hz-self-2026", name="杭州市生态环境保护自查", kind="self", target_region=hangzhou
    )
    office_unit = world.office.memberships.first().unit
    import_job = ImportJob.objects.create(
        file=ContentFile("序号,反馈问题\n1,扬尘\n".encode(), name="清单.csv"),
        original_name="清单.csv",
        inspection=world.inspection,
        uploaded_by=world.office,
        region=office_unit.region,
    )
    return {
        **_supervision_scene(world),
        "problem": problem,
        "import_job": import_job,
        "evidence": evidence,
        "extension": extension,
        "inspection": inspection,
        "account": world.liaison,
        "membership": world.liaison.memberships.first(),
        "event": AuditEvent.objects.order_by("-seq").first(),
    }


def _supervision_scene(world):
    """Objects of supervision, made the way the system makes them: the escalation ladder swept
    over a late problem of the same unit, a look-back draw, a notification, a group robot."""
    from django.core.files.base import ContentFile

    from duban.documents.models import ExportJob
    from duban.escalation import actions as escalation
    from duban.escalation.models import AccountabilityRecord, Circular, Interview
    from duban.escalation.models import SupervisionNotice as Notice
    from duban.escalation.tests.support import at, first_of_next_month, late_problem, sweep
    from duban.ledger.tests.flow import png
    from duban.lookback import actions as lookback
    from duban.lookback.tests.support import closed
    from duban.notify.actions import notify
    from duban.notify.models import Notification, Robot

    late = late_problem(world, ledger_number="第9号")
    sweep(at(late.deadline + dt.timedelta(days=1)))
    notice = Notice.objects.get()
    sweep(at(notice.ack_due + dt.timedelta(days=1)))
    sweep(at(first_of_next_month(notice.ack_due + dt.timedelta(days=1))))
    circular = Circular.objects.get()
    escalation.approve_circular(circular, by=world.office)
    circular.refresh_from_db()
    sweep(circular.decided_at + dt.timedelta(days=15))

    closed(world, "第8号")
    draw = lookback.create_draw(
        by=world.office,
        inspection=world.inspection,
        seed="matrix",
        size=1,
        pool=[world.county_acceptor],
    )
    notify([world.liaison], kind="matrix", key="matrix", title="测试通知", channels=False)
    robot = Robot.objects.create(
        unit=world.eco,
        kind=Robot.Kind.DINGTALK,
        name="吴兴分局群",
        webhook="https://oapi.dingtalk.com/robot/send?access_token=matrix",
    )
    export = ExportJob.objects.create(
        requested_by=world.office,
        filename="台账.xlsx",
        status=ExportJob.Status.DONE,
        file=ContentFile(b"PK", name="matrix.xlsx"),
        result={"count": 1},
    )
    check = draw.checks.get()
    lookback.record_check(
        check,
        by=world.county_acceptor,
        outcome="kept",
        findings="现场复查未见反弹。",
        files=[png("复查.png")],
    )
    return {
        "export_job": export,
        "notification": Notification.objects.get(recipient=world.liaison, key="matrix"),
        "robot": robot,
        "notice": notice,
        "circular": circular,
        "interview": Interview.objects.get(),
        "accountability": AccountabilityRecord.objects.get(),
        "lookback_draw": draw,
        "lookback_check": check,
        "check_evidence": check.evidence.get(),
    }


def _full_path(name, scene):
    kind = PAGE_DECISIONS[name]
    pattern = dict(_page_routes())[name]
    kwargs = {}
    for key in pattern.pattern.converters:
        if key == "action":
            kwargs[key] = "claim"
        elif key == "seq":
            kwargs[key] = scene["event"].seq
        elif key == "membership_pk":
            kwargs[key] = scene["membership"].pk
        elif key == "evidence_pk":
            kwargs[key] = scene["check_evidence"].pk
        else:
            kwargs[key] = scene[kind].pk if kind in scene else scene["problem"].pk
    return reverse(name, kwargs=kwargs)


def _fill(path_template: str, scene) -> str:
    """A concrete API path: {problem_id}, {evidence_id}, {extension_id} from the scene, {name} 'claim'."""
    values = {
        "problem_id": scene["problem"].pk,
        "evidence_id": scene["evidence"].pk,
        "extension_id": scene["extension"].pk,
        "name": "claim",
    }
    return re.sub(r"\{([^}]+)\}", lambda m: str(values[m.group(1)]), path_template)


def test_it_has_a_decision_for_every_route():
    undecided = [name or str(p.pattern) for name, p in _page_routes() if name not in PAGE_DECISIONS]
    assert undecided == [], f"routes without a scope decision: {undecided}"
    gone = sorted(set(PAGE_DECISIONS) - {name for name, _ in _page_routes()})
    assert gone == [], f"decisions for routes that no longer exist: {gone}"


@pytest.mark.parametrize("kind", OBJECT_KINDS)
def test_it_answers_404_to_everyone_who_cannot_read_the_object(world, scene, kind):
    routes = [name for name, k in PAGE_DECISIONS.items() if k == kind]
    assert routes
    for username in EVERYONE + ["outsider"]:
        if username in READERS[kind]:
            continue
        client = Client()
        client.force_login(world.users[username])
        for name in routes:
            path = _full_path(name, scene)
            for method in ("get", "post"):
                response = getattr(client, method)(path)
                assert response.status_code == 404, (
                    f"{username} {method.upper()} {path} → {response.status_code}"
                )


# The page that shows each kind of object to its readers (method, route, expected status).
READ_PAGES = {
    "import_job": ("get", "documents:import_preview", 200),
    "problem": ("get", "ledger:problem_detail", 200),
    "evidence": ("get", "ledger:evidence_download", 200),
    "account": ("get", "account_admin:user_detail", 200),
    "event": ("get", "audit:event_detail", 200),
    "export_job": ("get", "documents:export_download", 200),
    "notification": ("post", "notify:mark_read", 302),
    "robot": ("get", "notify:robot_edit", 200),
    "notice": ("get", "escalation:notice_detail", 200),
    "circular": ("get", "escalation:circular_detail", 200),
    "interview": ("get", "escalation:interview_detail", 200),
    "accountability": ("get", "escalation:record_edit", 200),
    "lookback_draw": ("get", "lookback:draw_detail", 200),
    "lookback_check": ("get", "lookback:check_evidence", 200),
}


@pytest.mark.parametrize("kind", READ_PAGES)
def test_it_lets_the_readers_of_an_object_read_it(world, scene, kind):
    method, name, expected = READ_PAGES[kind]
    assert READERS[kind]
    for username in READERS[kind]:
        client = Client()
        client.force_login(world.users[username])
        path = _full_path(name, scene)
        response = getattr(client, method)(path)
        assert response.status_code == expected, (
            f"{username} {method.upper()} {path} → {response.status_code}"
        )


def test_it_sends_anonymous_visitors_to_the_login_page(world, scene):
    client = Client()
    for name, kind in PAGE_DECISIONS.items():
        if kind == "public":
            continue
        path = _full_path(name, scene)
        response = client.get(path)
        assert response.status_code in (302, 405), f"anonymous GET {path} → {response.status_code}"
        if response.status_code == 302:
            assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("username", BLIND)
def test_it_shows_empty_lists_to_those_without_scope(world, scene, username):
    client = Client()
    client.force_login(world.users[username])
    for name, kind in PAGE_DECISIONS.items():
        if kind != "list":
            continue
        response = client.get(_full_path(name, scene))
        assert response.status_code == 200
        assert scene["problem"].title not in response.content.decode()


@pytest.mark.parametrize(
    "kind, holder",
    [
        ("office", "office"),
        ("sysadmin", "sysadmin"),
        ("auditor", "auditor"),
        ("discipline", "discipline"),
    ],
)
def test_it_keeps_each_administrators_pages_to_that_role(world, scene, kind, holder):
    for username in EVERYONE:
        if username == holder:
            continue
        client = Client()
        client.force_login(world.users[username])
        for name, k in PAGE_DECISIONS.items():
            if k != kind:
                continue
            path = _full_path(name, scene)
            for method in ("get", "post"):
                response = getattr(client, method)(path)
                assert response.status_code in (403, 404), (
                    f"{username} {method.upper()} {name} → {response.status_code}"
                )


# --- the API ---------------------------------------------------------------------------
#
# Here: those who see nothing. Who gets in on each API route, and that the same role out of
# scope gets 404: test_api_route_matrix.py (API_RIGHTS).


def _api_routes():
    from duban.api.api import api_route_inventory

    return list(api_route_inventory())


def test_it_knows_every_api_route():
    routes = _api_routes()
    assert routes, "the API lists no routes"
    object_routes = [(m, p) for m, p in routes if "{" in p]
    assert object_routes, "the API has no routes about one object"


@pytest.mark.parametrize("username", BLIND)
def test_it_answers_404_on_every_api_route_about_an_object_out_of_scope(world, scene, username):
    _, key = ApiToken.issue(world.users[username], "matrix")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    checked = 0
    for method, path in _api_routes():
        if "{" not in path:
            continue
        url = _fill(path, scene)
        response = client.generic(method.upper(), url, data="{}", content_type="application/json")
        assert response.status_code == 404, f"{username} {method} {url} → {response.status_code}"
        checked += 1
    assert checked > 0


@pytest.mark.parametrize("username", BLIND)
def test_it_lists_nothing_out_of_scope_through_the_api(world, scene, username):
    _, key = ApiToken.issue(world.users[username], "matrix")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    for method, path in _api_routes():
        if method.upper() != "GET" or "{" in path or "openapi" in path or "docs" in path:
            continue
        response = client.get(path)
        assert response.status_code == 200, f"{username} GET {path} → {response.status_code}"
        assert scene["problem"].title not in response.content.decode()


def test_it_refuses_the_api_without_a_token(world, scene):
    client = Client()
    for method, path in _api_routes():
        if "openapi" in path or "docs" in path:
            continue
        url = _fill(path, scene)
        response = client.generic(method.upper(), url, data="{}", content_type="application/json")
        assert response.status_code == 401, f"anonymous {method} {url} → {response.status_code}"


# --- the positive side: the right role in scope gets in --------------------------------------
#
# Twins of the world's roles in another city (杭州市, where the scene's inspection is): the same
# role out of scope. For each route, RIGHTS says who gets in and how (GET where the page
# answers GET, else POST with an empty form); the object's other readers lack the right
# and are refused (403, or the status given); each holder's twin gets 404.

FAR = {
    "far_office": ("far_office_unit", "office"),
    "far_liaison": ("far_unit", "liaison"),
    "far_unit_head": ("far_unit", "unit_head"),
    "far_lead_official": ("far_unit", "lead_official"),
    "far_acceptor": ("far_office_unit", "acceptor"),
    "far_discipline": ("far_office_unit", "discipline"),
    "far_viewer": ("far_office_unit", "viewer"),
    "far_sysadmin": ("far_office_unit", "sysadmin"),
}
TWIN = {
    "office": "far_office",
    "liaison": "far_liaison",
    "unit_head": "far_unit_head",
    "lead_official": "far_lead_official",
    "county_acceptor": "far_acceptor",
    "city_acceptor": "far_acceptor",
    "discipline": "far_discipline",
    "viewer": "far_viewer",
    "sysadmin": "far_sysadmin",
    "far_office": "office",  # the scene's inspection is 杭州's: the world's office is the twin
}
FAR_READERS = ["far_office", "far_liaison", "far_unit_head", "far_lead_official"]
FAR_READERS += ["far_acceptor", "far_discipline", "far_viewer"]
NOTICE_READERS = READERS["notice"]

# route: (method, who gets in, their status[, status of the kind's other readers]). A POST
# carries an empty form: 400 (the input refused) says the door opened; 409 that the scene's
# object is past that step already.
RIGHTS = {
    "ledger:problem_detail": ("get", SEES, 200),
    "ledger:problem_edit": ("get", ["office"], 200),
    "ledger:problem_action": ("get", ["liaison"], 200),  # save_plan, on the claimed problem
    "ledger:evidence_download": ("get", SEES, 200),
    "ledger:evidence_thumbnail": ("get", SEES, 200),
    "ledger:evidence_review": ("post", ["unit_head"], 302),
    "render:closing_record_docx": ("get", SEES, 200),  # on a problem applied for closing
    "render:closing_record_pdf": ("get", SEES, 200),
    "inspections:detail": ("get", FAR_READERS, 200),
    "inspections:edit": ("get", ["far_office"], 200),
    "render:progress_report_docx": ("get", FAR_READERS, 200),
    "render:progress_report_pdf": ("get", FAR_READERS, 200),
    "render:public_notice_docx": ("get", ["far_office"], 200),
    "render:public_notice_pdf": ("get", ["far_office"], 200),
    "escalation:policy_edit": ("get", ["far_office"], 200),
    "account_admin:user_detail": ("get", ["sysadmin"], 200),
    "account_admin:membership_add": ("post", ["sysadmin"], 400),
    "account_admin:unlock": ("post", ["sysadmin"], 302),
    "account_admin:password_reset": ("post", ["sysadmin"], 200),
    "twofactor:admin_reset": ("post", ["sysadmin"], 302),
    "account_admin:membership_remove": ("post", ["sysadmin"], 302),
    "audit:event_detail": ("get", ["auditor"], 200),
    "documents:import_preview": ("get", ["office"], 200),
    "documents:import_progress": ("get", ["office"], 302),
    "documents:import_commit": ("post", ["office"], 400),
    "documents:import_run_again": ("post", ["office"], 302),
    "documents:export_progress": ("get", ["office"], 200),
    "documents:export_download": ("get", ["office"], 200),
    "documents:export_run_again": ("post", ["office"], 302),
    "notify:mark_read": ("post", ["liaison"], 302),
    "notify:robot_edit": ("get", ["office"], 200),
    # A POST would call the group's real webhook; past the scope check, GET answers 405.
    "notify:robot_test": ("get", ["office"], 405),
    "notify:robot_delete": ("post", ["office"], 302),
    "escalation:notice_detail": ("get", NOTICE_READERS, 200),
    "escalation:notice_document_docx": ("get", NOTICE_READERS, 200),
    "escalation:notice_document_pdf": ("get", NOTICE_READERS, 200),
    "escalation:notice_acknowledge": ("post", ["liaison", "unit_head"], (302, 409)),
    # The empty answer is refused before the role is asked: 400 for every reader.
    "escalation:notice_answer": ("post", ["liaison", "unit_head"], 400, 400, 403),
    "escalation:circular_detail": ("get", NOTICE_READERS, 200),
    "escalation:circular_document_docx": ("get", NOTICE_READERS, 200),
    "escalation:circular_document_pdf": ("get", NOTICE_READERS, 200),
    "escalation:circular_approve": ("post", ["office"], 409),  # approved in the scene
    "escalation:circular_discard": ("post", ["office"], 409),
    "escalation:interview_detail": ("get", NOTICE_READERS, 200),
    "escalation:record_edit": ("get", ["discipline"], 200),
    "lookback:draw_detail": ("get", ["office"], 200),
    "lookback:check_detail": ("get", ["office", "county_acceptor"], 200),
    "lookback:check_evidence": ("get", ["office", "county_acceptor"], 200),
    # Role pages without an object: the role gets in, every other role is refused.
    "ledger:problem_create": ("get", ["office", "far_office"], 200),
    "inspections:create": ("get", ["office", "far_office"], 200),
    # About the unit 吴兴分局: the office of another city is the twin out of scope.
    "render:supervision_notice_docx": ("get", ["office"], 200),
    "render:supervision_notice_pdf": ("get", ["office"], 200),
    "documents:import_upload": ("get", ["office", "far_office"], 200),
    "feedback:upload": ("get", ["office", "far_office"], 200),
    "feedback:review": ("post", ["office", "far_office"], 400),
    "supervision:late_reports": ("get", ["office", "far_office"], 200),
    "workcalendar:year": ("get", ["office", "far_office"], 200),
    "workcalendar:remove": ("post", ["office", "far_office"], 400),
    "notify:robot_list": ("get", ["office", "far_office"], 200),
    "lookback:draw_create": ("get", ["office", "far_office"], 200),
    "account_admin:user_list": ("get", ["sysadmin", "far_sysadmin"], 200),
    "account_admin:user_create": ("get", ["sysadmin", "far_sysadmin"], 200),
    "audit:event_list": ("get", ["auditor"], 200),
    "audit:verify": ("get", ["auditor"], 200),
    "audit:export": ("get", ["auditor"], 200),
    "escalation:record_list": ("get", ["discipline", "far_discipline"], 200),
    "escalation:record_create": ("get", ["discipline", "far_discipline"], 200),
}
# Routes whose object is not the kind's scene object.
POSITIVE_OBJECT = {
    "render:closing_record_docx": "applied_problem",
    "render:closing_record_pdf": "applied_problem",
}
# Routes about one object whose holders' twins are not out of its scope.
NO_TWIN = {"audit:event_detail"}  # the audit administrator reads the whole chain
# Role pages without an object in the URL have no twin out of scope, but for these two.
ROLE_PAGES_ABOUT_AN_OBJECT = {"render:supervision_notice_docx", "render:supervision_notice_pdf"}


@pytest.fixture
def far(world, scene):
    """The twins: each role once more, at units of 杭州市, the region of the scene's inspection."""
    return far_twins(world, scene["inspection"].target_region)


def far_twins(world, region):
    """Each role of FAR once more, at two units of `region`; added to world.users too.
    (Shared with the API's matrix, test_api_route_matrix.py.)"""
    from duban.ledger.tests.flow import member
    from duban.org.models import Unit, UnitKind

    units = {
        "far_office_unit": Unit.objects.create(
            name="杭州市整改办", kind=UnitKind.OFFICE, region=region
        ),
        "far_unit": Unit.objects.create(
            name="杭州市生态环境局", kind=UnitKind.DEPARTMENT, region=region
        ),
    }
    users = {name: member(name, units[unit], role) for name, (unit, role) in FAR.items()}
    world.users.update(users)
    return users


def _positive_path(name, scene):
    if name == "ledger:problem_action":
        return reverse(name, kwargs={"pk": scene["problem"].pk, "action": "save_plan"})
    if name in ROLE_PAGES_ABOUT_AN_OBJECT:  # the unit the notice is addressed to
        return reverse(name, kwargs={"pk": scene["problem"].lead_unit_id})
    if name in POSITIVE_OBJECT:
        return _full_path(name, {**scene, "problem": scene[POSITIVE_OBJECT[name]]})
    return _full_path(name, scene)


def _as(world, username):
    client = Client()
    client.force_login(world.users[username])
    return client


def _readers_of(name):
    kind = PAGE_DECISIONS[name]
    if kind in READERS:
        readers = READERS[kind]
        return FAR_READERS if kind == "inspection" else readers
    return [u for u in EVERYONE + list(FAR) if u != "outsider"]


RIGHT_KINDS = sorted({PAGE_DECISIONS[name] for name in RIGHTS})


@pytest.mark.parametrize("kind", RIGHT_KINDS)
def test_it_lets_the_right_role_in_scope_in_and_keeps_its_twin_and_the_other_roles_out(
    world, scene, far, kind
):
    from duban.ledger.tests.flow import problem_in

    if kind == "problem":
        scene["applied_problem"] = problem_in(world, "closing_applied", ledger_number="第7号")
    routes = [name for name in RIGHTS if PAGE_DECISIONS[name] == kind]
    wrong = []

    def check(username, method, name, expected):
        path = _positive_path(name, scene)
        status = getattr(_as(world, username), method)(path).status_code
        if status not in expected:
            wrong.append(f"{username} {method.upper()} {name} → {status}, not {expected}")

    # Refusals first: they change nothing, and the holders' own requests may.
    for name in routes:
        method, holders, _status, *refusal = RIGHTS[name]
        twins = set()
        if name not in NO_TWIN and (
            kind not in ("office", "sysadmin", "discipline") or name in ROLE_PAGES_ABOUT_AN_OBJECT
        ):
            twins = {TWIN[u] for u in holders if u in TWIN} - set(holders)
        for twin in sorted(twins):
            check(twin, method, name, (404,))
        for username in _readers_of(name):
            if username not in holders and username not in twins:
                check(username, method, name, tuple(refusal) or (403,))
    for name in routes:
        method, holders, status, *_refusal = RIGHTS[name]
        # A PDF is the .docx's page drawn once more: one holder shows the door opens.
        for username in holders[:1] if name.endswith("_pdf") else holders:
            check(username, method, name, status if isinstance(status, tuple) else (status,))
    assert wrong == [], "\n".join(wrong)


def test_it_says_who_gets_in_on_every_route_about_an_object_or_a_role():
    decided = {
        name
        for name, kind in PAGE_DECISIONS.items()
        if kind not in ("public", "own", "list", "export")
    }
    assert decided - set(RIGHTS) == set(), "routes without a positive check"

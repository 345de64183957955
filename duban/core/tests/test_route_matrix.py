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
from duban.ledger import actions

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
    "account_admin:password_set": "account",
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
    "feedback:upload": "office",
    "feedback:review": "office",
}
# Kinds with page routes (extensions are reached through their problem's pages and the API).
OBJECT_KINDS = ("problem", "evidence", "inspection", "account", "event", "import_job")

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
    from django.core.files.uploadedfile import SimpleUploadedFile

    from duban.audit.models import AuditEvent
    from duban.documents.models import ImportJob
    from duban.inspections.models import Inspection
    from duban.ledger.tests.flow import jpeg_bytes
    from duban.org.models import Region

    problem = world.problem()
    actions.assign(problem, by=world.office)
    actions.claim(problem, by=world.liaison)
    evidence = actions.upload_evidence(
        problem,
        by=world.liaison,
        category="现场照片",
        files=[SimpleUploadedFile("现场.jpg", jpeg_bytes())],
    )[0]
    extension = actions.request_extension(
        problem,
        by=world.liaison,
        reasons="受汛期影响",
        efforts="已完成排查",
        new_deadline=problem.deadline + dt.timedelta(days=60),
        roadmap="2027年3月底前完成",
    )
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
        "problem": problem,
        "import_job": import_job,
        "evidence": evidence,
        "extension": extension,
        "inspection": inspection,
        "account": world.liaison,
        "membership": world.liaison.memberships.first(),
        "event": AuditEvent.objects.order_by("-seq").first(),
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


@pytest.mark.parametrize("kind", ["problem", "evidence", "account", "event", "import_job"])
def test_it_lets_the_readers_of_an_object_read_it(world, scene, kind):
    read_pages = {
        "import_job": "documents:import_preview",
        "problem": "ledger:problem_detail",
        "evidence": "ledger:evidence_download",
        "account": "account_admin:user_detail",
        "event": "audit:event_detail",
    }
    for username in READERS[kind]:
        client = Client()
        client.force_login(world.users[username])
        path = _full_path(read_pages[kind], scene)
        response = client.get(path)
        assert response.status_code == 200, f"{username} GET {path} → {response.status_code}"


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
    "kind, holder", [("office", "office"), ("sysadmin", "sysadmin"), ("auditor", "auditor")]
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

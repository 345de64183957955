"""Every URL pattern and every API route, walked with every role and the outsider.

Each route must have a decision below; a new route without one fails
`test_it_has_a_decision_for_every_route`. For routes about one problem or one
file, everyone who cannot see that problem gets 404 — on GET and on POST — and
nobody learns whether it exists.
"""

import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from duban.accounts.models import ApiToken
from duban.ledger import actions
from duban.ledger.models import Extension

# What each named page route is about.
#   public: anyone, no login
#   own: about the logged-in user only (no other object in the URL)
#   list: a scoped list; users without scope see it empty
#   office: an office-only form with no object in the URL
#   problem / evidence / extension: one object; out of scope → 404
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
}

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


def _named_patterns(resolver=None, namespace=""):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            ns = namespace
            if entry.namespace:
                ns = f"{namespace}{entry.namespace}:"
            yield from _named_patterns(entry, ns)
        elif isinstance(entry, URLPattern):
            yield f"{namespace}{entry.name}" if entry.name else None, entry


def _page_routes():
    from duban.api.api import api_route_inventory  # noqa: F401 - the API is checked separately

    routes = []
    for name, pattern in _named_patterns():
        if name is not None and name.startswith("api"):
            continue  # API routes are walked by method and path below
        routes.append((name, pattern))
    return routes


@pytest.fixture
def scene(world, media_root):
    """A problem under 吴兴 with a file and a pending extension, visible to SEES only."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from duban.ledger.tests_support import jpeg_bytes

    problem = world.problem()
    actions.assign(problem, by=world.office)
    actions.claim(problem, by=world.liaison)
    evidence = actions.upload_evidence(
        problem,
        by=world.liaison,
        category="现场照片",
        files=[SimpleUploadedFile("现场.jpg", jpeg_bytes())],
    )[0]
    import datetime as dt

    extension = actions.request_extension(
        problem,
        by=world.liaison,
        reasons="受汛期影响",
        efforts="已完成排查",
        new_deadline=problem.deadline + dt.timedelta(days=60),
        roadmap="2027年3月底前完成",
    )
    return {"problem": problem, "evidence": evidence, "extension": extension}


def _fill(pattern_text: str, scene) -> str:
    """A concrete path for a route: object ids from the scene, action slug 'claim'."""
    ids = {
        "problem": scene["problem"].pk,
        "evidence": scene["evidence"].pk,
        "extension": scene["extension"].pk,
    }

    def value(match):
        name = match.group(1).split(":")[-1].strip("<>{}")
        before = pattern_text[: match.start()]
        if name in ("action", "name"):
            return "claim"
        for kind, pk in ids.items():
            if (
                name.startswith(kind)
                or re.search(rf"{kind}s?/$", before)
                or re.search(rf"{kind}s?/?$", before.rstrip("/"))
            ):
                return str(pk)
        return str(scene["problem"].pk)

    return re.sub(
        r"<([^>]+)>|\{([^}]+)\}",
        lambda m: value(re.match(r"[<{]([^>}]+)[>}]", m.group(0))),
        pattern_text,
    )


def _path_of(pattern) -> str:
    return "/" + str(pattern.pattern)


def test_it_has_a_decision_for_every_route():
    undecided = [
        name or str(pattern.pattern)
        for name, pattern in _page_routes()
        if name not in PAGE_DECISIONS and not _is_static(pattern)
    ]
    assert undecided == [], f"routes without a scope decision: {undecided}"


def _is_static(pattern) -> bool:
    return str(pattern.pattern).startswith("static")


def _full_path(name, scene):
    from django.urls import reverse

    kwargs = {}
    for name_, pattern in _page_routes():
        if name_ == name:
            for key in pattern.pattern.converters:
                kwargs[key] = "claim" if key == "action" else None
            break
    for key in list(kwargs):
        if key == "action":
            continue
        kind = PAGE_DECISIONS[name]
        kwargs[key] = scene[kind].pk if kind in scene else scene["problem"].pk
    return reverse(name, kwargs=kwargs)


@pytest.mark.parametrize("username", BLIND)
def test_it_answers_404_to_everyone_who_cannot_see_the_object(world, scene, username):
    client = Client()
    client.force_login(world.users[username])
    for name, kind in PAGE_DECISIONS.items():
        if kind not in ("problem", "evidence", "extension"):
            continue
        path = _full_path(name, scene)
        for method in ("get", "post"):
            response = getattr(client, method)(path)
            assert response.status_code == 404, (
                f"{username} {method.upper()} {path} → {response.status_code}"
            )


@pytest.mark.parametrize("username", SEES)
def test_it_lets_everyone_in_scope_read_the_object(world, scene, username):
    client = Client()
    client.force_login(world.users[username])
    for name in ("ledger:problem_detail", "ledger:evidence_download"):
        path = _full_path(name, scene)
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


@pytest.mark.parametrize("username", BLIND + ["anonymous"])
def test_it_shows_an_empty_ledger_to_those_without_scope(world, scene, username):
    client = Client()
    if username != "anonymous":
        client.force_login(world.users[username])
        response = client.get("/ledger/")
        assert response.status_code == 200
        assert scene["problem"].title not in response.content.decode()


@pytest.mark.parametrize("username", [u for u in SEES if u != "office"] + BLIND)
def test_it_keeps_the_office_forms_to_the_office(world, scene, username):
    client = Client()
    client.force_login(world.users[username])
    for name, kind in PAGE_DECISIONS.items():
        if kind == "office":
            response = client.post(_full_path(name, scene), {"title": "x"})
            assert response.status_code in (403, 404), (
                f"{username} POST {name} → {response.status_code}"
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


def test_it_has_an_extension_to_decide(scene):
    assert Extension.objects.filter(pk=scene["extension"].pk, status="pending").exists()

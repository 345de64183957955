"""Bad input in every page route's path and query parameters never makes a server error.

The routes come from the URL resolver (as in test_route_matrix); the query parameters of
each page are read off the source of its view's module: literal `request.GET.get("…")`
names and the fields of the forms bound to `request.GET`. Each page is fetched as the
roles that can open it, with one bad value at a time in each path parameter and each
query parameter; any 5xx fails. The values are fixed, so the run is the same every time.
"""

import inspect
import re
import time
from urllib.parse import urlencode

from django import forms
from django.test import Client
from django.urls import resolve, reverse
from django.urls.converters import IntConverter

from . import test_route_matrix as matrix
from .test_route_matrix import PAGE_DECISIONS, READERS, _full_path, _page_routes

# The route matrix's scene: one object of each kind, each readable by its own readers.
scene = matrix.scene

# One of each kind of trouble: not a number, out of any column's range, dates at the ends of
# the calendar, NUL and other control characters, markup, very long text, odd Unicode digits.
BAD_VALUES = [
    "",
    "abc",
    "-1",
    "0",
    "99999999999999999999",
    "1e999",
    "NaN",
    "9999-12-31",
    "0001-01-01",
    "2026-02-30",
    "a\x00b",
    "\x00",
    "\x1b[31m\r\n",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "%",
    "１２",
    "x" * 3000,
]
# Tried on every parameter; the others are spread over the parameters of a page.
ALWAYS = ["abc", "99999999999999999999", "9999-12-31", "0001-01-01", "a\x00b"]
OTHERS = [value for value in BAD_VALUES if value not in ALWAYS]
# Path parameters: the int converter only lets digits through to the view.
BAD_PATH_VALUES = {
    "int": ["0", "99999999999999999999", "abc", "1%00"],
    "str": ["x%00", "%E2%80%AE", "x" * 300, "..", "claim%0A"],
}
BAD_PATH_VALUES["slug"] = BAD_PATH_VALUES["str"]
# Who fetches the pages: the roles that hold the pages of the scene between them.
ROLES = ["office", "liaison", "auditor", "sysadmin", "discipline", "county_acceptor"]
# Pages reached through Django's own views, with the parameters those read.
EXTRA_PARAMETERS = {"login": ["next"], "logout": ["next"]}

GET_NAME = re.compile(r"""GET\.get\(\s*["'](\w+)["']|GET\[\s*["'](\w+)["']\s*\]""")
CALL = re.compile(r"\b(\w+)\(")
BOUND_TO_GET = re.compile(r"(\w+)\([^()]*request\.GET")


def _fields_of_forms_built_in(function) -> set[str]:
    """Fields of the forms a helper such as documents' `filtered(user, params)` builds."""
    names = set()
    for name in CALL.findall(inspect.getsource(function)):
        candidate = function.__globals__.get(name)
        if isinstance(candidate, type) and issubclass(candidate, forms.BaseForm):
            names.update(candidate.base_fields)
    return names


def query_parameters(callback) -> list[str]:
    """The GET parameters a page's view reads: in its own code and in the project's functions it
    calls (literal `request.GET.get("…")` names, and the fields of forms bound to the query)."""
    view = inspect.unwrap(getattr(callback, "view_class", callback))
    if not (inspect.isfunction(view) and view.__module__.startswith("duban.")):
        return []
    names, seen, todo = set(), set(), [view]
    while todo:
        function = todo.pop()
        if function in seen:
            continue
        seen.add(function)
        source = inspect.getsource(function)
        names.update(a or b for a, b in GET_NAME.findall(source))
        for name in BOUND_TO_GET.findall(source):
            target = function.__globals__.get(name)
            if isinstance(target, type) and issubclass(target, forms.BaseForm):
                names.update(target.base_fields)
            elif inspect.isfunction(target):
                names.update(_fields_of_forms_built_in(target))
        for name in CALL.findall(source):
            target = function.__globals__.get(name)
            if inspect.isfunction(target) and target.__module__.startswith("duban."):
                todo.append(inspect.unwrap(target))
    return sorted(names)


def test_it_finds_the_query_parameters_that_pages_read():
    routes = dict(_page_routes())
    assert {"q", "inspection", "state", "page", "part", "sort"} <= set(
        query_parameters(routes["ledger:problem_list"].callback)
    )
    assert {"date_from", "date_to", "before", "after"} <= set(
        query_parameters(routes["audit:event_list"].callback)
    )
    assert {"date_from", "date_to"} <= set(query_parameters(routes["audit:export"].callback))
    assert {"q", "state"} <= set(query_parameters(routes["documents:ledger_export"].callback))
    assert "year" in query_parameters(routes["workcalendar:year"].callback)


MARKER_INT = 987654321
MARKER_STR = "zzfuzzmarkerzz"


def _path_with(name, scene, key, value):
    """The page's path (objects from the scene) with path parameter `key` replaced by `value`."""
    pattern = dict(_page_routes())[name]
    converters = pattern.pattern.converters
    kwargs = {k: v for k, v in resolve(_full_path(name, scene)).kwargs.items() if k in converters}
    kwargs[key] = MARKER_INT if isinstance(converters[key], IntConverter) else MARKER_STR
    return reverse(name, kwargs=kwargs).replace(str(kwargs[key]), value)


def _fetchers(name) -> list[str | None]:
    """Up to two roles that open the page (None: an anonymous visitor)."""
    kind = PAGE_DECISIONS[name]
    if kind == "public":
        return [None]
    readers = {
        "own": ROLES,
        "list": ROLES,
        "export": ["office", "liaison"],
        "office": ["office"],
        "sysadmin": ["sysadmin"],
        "auditor": ["auditor"],
        "discipline": ["discipline"],
    }.get(kind) or READERS[kind]
    return [role for role in ROLES if role in readers][:2] or ["office"]


def _query_cases(path, parameters) -> list[str]:
    """Each parameter alone with the usual suspects and two more values (a different two for
    each parameter, so that every value is tried), then every value in all parameters at once."""
    cases = []
    for i, parameter in enumerate(parameters):
        values = ALWAYS + [OTHERS[(2 * i + j) % len(OTHERS)] for j in range(2)]
        cases += [f"{path}?{urlencode({parameter: value})}" for value in values]
    if len(parameters) > 1:
        cases += [f"{path}?{urlencode(dict.fromkeys(parameters, v))}" for v in BAD_VALUES]
    return cases


def test_no_page_answers_a_server_error_to_bad_input(world, scene):
    clients = {None: Client(raise_request_exception=False)}
    for role in ROLES:
        clients[role] = Client(raise_request_exception=False)
        clients[role].force_login(world.users[role])
    failures, cases = [], 0
    started = time.perf_counter()
    for name, pattern in _page_routes():
        fetchers = _fetchers(name)
        path_cases = [
            _path_with(name, scene, key, value)
            for key, converter in pattern.pattern.converters.items()
            for value in BAD_PATH_VALUES["int" if isinstance(converter, IntConverter) else "str"]
        ]
        parameters = query_parameters(pattern.callback) + EXTRA_PARAMETERS.get(name, [])
        query_cases = _query_cases(_full_path(name, scene), parameters)
        # Paths as two roles (scope decides early), queries as the first (the page reads them).
        runs = [(role, path_cases) for role in fetchers] + [(fetchers[0], query_cases)]
        for role, urls in runs:
            for url in urls:
                response = clients[role].get(url)
                cases += 1
                if response.status_code >= 500:
                    failures.append(
                        f"{role or 'anonymous'} GET {url[:100]!r} → {response.status_code}"
                    )
    print(f"page fuzz: {cases} requests in {time.perf_counter() - started:.1f} s")
    assert cases > 500
    assert failures == [], "\n".join(failures)

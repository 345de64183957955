"""Every role's main pages under the Content-Security-Policy, in Debian's Chromium.

The demo world (`duban seed_demo`) gives each page real content: problems in every state with
evidence, thumbnails and signed applications, notices, circulars, audit events. Each person
logs in through the real form and visits the pages of their menu, the first entry of each
list, the first problem and every action form it offers. Any CSP violation, reported by a
`securitypolicyviolation` event or in the console, fails the test; so does htmx not working
under the policy (no eval, no injected styles).
"""

import re
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command

from duban.demo.content import DEMO_PASSWORD
from duban.ledger.models import Problem

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROLES = [
    "office",
    "liaison",
    "unit_head",
    "lead_official",
    "county_acceptor",
    "city_acceptor",
    "discipline",
    "auditor",
    "sysadmin",
    "viewer",
]
# Pages outside the menu that a role works in.
EXTRA_PAGES = {
    "office": [
        "/inbox/robots/",
        "/inbox/settings/",
        "/escalation/circulars/",
        "/lookback/draws/new/",
        "/inspections/new/",
        "/ledger/problems/new/",
        "/api/v1/docs",
    ],
    "discipline": ["/escalation/accountability/new/"],
    "auditor": ["/audit/verify/"],
    "sysadmin": ["/admin/accounts/new/"],
}
# Links that download a file or change something rather than show a page.
NOT_A_PAGE = re.compile(r"download|\.xlsx|\.csv|\.docx|\.pdf|/render/|/logout|thumbnail|/do/")
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolation(
    `${event.violatedDirective} blocked ${event.blockedURI || "inline"} ` +
    `at ${event.sourceFile}:${event.lineNumber} ${event.sample}`
  );
});
"""


@pytest.fixture
def demo(live_server):
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115 - quiet seeding
    return live_server.url


class Visitor:
    """One person's browser context that records every CSP violation of every page it opens."""

    def __init__(self, browser, base, username):
        self.base = base
        self.violations: list[str] = []
        self.seen: set[str] = set()
        self.context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
        self.context.expose_binding(
            "__cspViolation", lambda source, text: self.violations.append(f"{self.where}: {text}")
        )
        self.context.add_init_script(REPORT_VIOLATIONS)
        self.page = self.context.new_page()
        self.page.on("console", self._console)
        self.where = "/accounts/login/"
        self.open("/accounts/login/")
        self.page.fill("#id_username", username)
        self.page.fill("#id_password", DEMO_PASSWORD)
        self.page.locator("main form button[type=submit]").first.click()
        self.page.wait_for_url(lambda url: "/accounts/login/" not in url)
        self.settle()
        self.where = urlsplit(self.page.url).path

    def _console(self, message):
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            self.violations.append(f"{self.where} (console): {message.text}")

    def open(self, path: str) -> None:
        self.where = path
        self.seen.add(path)
        response = self.page.goto(self.base + path)
        assert response.status < 500, f"{path} answered {response.status}"
        self.settle()

    def settle(self) -> None:
        """Wait for the parts htmx loads after the page (pace counts, progress) to be swapped in."""
        self.page.wait_for_function(
            "() => document.readyState === 'complete' && "
            "!document.querySelector('[hx-trigger=\"load\"], .htmx-request')"
        )

    def links(self, selector: str) -> list[str]:
        """Same-site page links matching selector, as paths, in page order."""
        paths = []
        for href in self.page.eval_on_selector_all(selector, "els => els.map(a => a.href)"):
            parts = urlsplit(href)
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            if href.startswith(self.base) and not NOT_A_PAGE.search(path) and path not in paths:
                paths.append(path)
        return paths

    def close(self):
        self.context.close()


def check_the_ledger_by_htmx(visitor: Visitor, demo: str) -> None:
    """The pace counts and the filter panel load by htmx; a search swaps the results in place."""
    page = visitor.page
    visitor.open("/ledger/")
    page.wait_for_selector("ul#pace-summary .count")
    page.click("form.filters details summary")
    page.wait_for_selector("form.filters details select#id_unit")
    word = Problem.objects.order_by("pk").first().title[:4]
    page.fill("form.filters input[name=q]", word)
    page.click("form.filters .search-row button[type=submit]")
    page.wait_for_url(re.compile(r".*[?&]q="))
    page.wait_for_selector("ul#pace-summary .count")
    assert page.locator("#results table tbody tr").count() >= 1
    # The export link takes the filters the address bar now holds (duban.js, not an inline handler).
    with page.expect_download() as download:
        page.click("#export-ledger")
    assert "q=" in download.value.url


def test_it_shows_every_roles_pages_without_a_csp_violation(browser, demo):
    visited = {}
    for username in ROLES:
        visitor = Visitor(browser, demo, username)
        try:
            if username == "office":
                check_the_ledger_by_htmx(visitor, demo)
            visitor.open("/ledger/")
            menu = visitor.links("header nav a") + EXTRA_PAGES.get(username, [])
            first_problem = visitor.links("#results table tbody a")[:1]
            for path in menu + first_problem:
                if path in visitor.seen:
                    continue
                visitor.open(path)
                # The first entry of a list (a notice, an event, an account, an inspection …).
                for entry in visitor.links("main table tbody a")[:1]:
                    if entry not in visitor.seen:
                        visitor.open(entry)
            if first_problem:
                visitor.open(first_problem[0])
                for action_form in visitor.page.eval_on_selector_all(
                    "a[data-action]", "els => els.map(a => new URL(a.href).pathname)"
                ):
                    visitor.open(action_form)
            assert visitor.violations == [], username
            visited[username] = visitor.seen
            print(username, len(visitor.seen))
        finally:
            visitor.close()

    # The sweep did reach the pages the policy matters on.
    office = visited["office"]
    assert {"/ledger/", "/inbox/", "/calendar/", "/documents/import/"} <= office
    assert any(path.startswith("/escalation/notices/") for path in office)
    assert any("/do/" in path for path in office), "no action form was opened"
    assert any(re.fullmatch(r"/ledger/problems/\d+/", path) for path in office)
    assert "/audit/" in visited["auditor"]
    assert any(path.startswith("/audit/events/") for path in visited["auditor"])
    assert "/admin/accounts/" in visited["sysadmin"]
    assert any(re.match(r"/admin/accounts/\d+/", path) for path in visited["sysadmin"])

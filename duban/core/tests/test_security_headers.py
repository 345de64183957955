"""The headers that make a slip in a template harmless and keep pages out of shared caches."""

import re
from pathlib import Path

import pytest
from django.test import Client

import duban

pytestmark = pytest.mark.django_db

TEMPLATE_ROOT = Path(duban.__file__).parent
# Rendered to PDF by WeasyPrint on the server, never sent to a browser.
NOT_SERVED = {"documents/templates/documents/_base.html"}


def policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {
        name: values
        for name, *values in (part.split() for part in header.split(";") if part.strip())
    }


def test_it_sends_a_policy_without_inline_script_eval_or_inline_style(world):
    client = Client()
    client.force_login(world.office)

    response = client.get("/ledger/")

    directives = policy(response)
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["object-src"] == ["'none'"]
    assert "unsafe" not in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    "path", ["/ledger/", "/ledger/?part=filters", "/inbox/", "/accounts/profile/"]
)
def test_it_keeps_a_logged_in_page_out_of_every_cache(world, path):
    client = Client()
    client.force_login(world.office)

    response = client.get(path)

    assert response.status_code == 200, path
    assert "no-store" in response["Cache-Control"], path


def test_it_keeps_the_login_page_out_of_every_cache(world):
    response = Client().get("/accounts/login/")

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]


def test_it_keeps_a_problem_page_and_its_refusal_out_of_every_cache(world):
    problem = world.problem()
    office, outsider = Client(), Client()
    office.force_login(world.office)
    outsider.force_login(world.outsider)

    assert "no-store" in office.get(f"/ledger/{problem.pk}/")["Cache-Control"]
    refused = outsider.get(f"/ledger/{problem.pk}/")
    assert refused.status_code == 404
    assert "no-store" in refused["Cache-Control"]


def served_templates():
    for path in sorted(TEMPLATE_ROOT.glob("*/templates/**/*.html")):
        name = str(path.relative_to(TEMPLATE_ROOT))
        if name not in NOT_SERVED:
            yield name, path.read_text()


FORBIDDEN = {
    "an inline <script>": re.compile(r"<script(?![^>]*\ssrc=)[^>]*>", re.I),
    "an inline <style>": re.compile(r"<style[\s>]", re.I),
    "a style attribute": re.compile(r"\sstyle\s*=", re.I),
    "an on* handler": re.compile(r"\son[a-z]+\s*=", re.I),
    "an hx-on handler": re.compile(r"\shx-on", re.I),
    "a javascript: link": re.compile(r"javascript:", re.I),
    "|safe": re.compile(r"\|\s*safe\b"),
}


def test_it_keeps_every_served_template_free_of_inline_code_and_unescaped_output():
    found = [
        (name, what)
        for name, text in served_templates()
        for what, pattern in FORBIDDEN.items()
        if pattern.search(text)
    ]

    assert found == []
    assert len(list(served_templates())) > 50  # the glob did find the templates

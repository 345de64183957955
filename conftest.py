"""Project-wide pytest fixtures: media isolation, Playwright on Debian's Chromium,
and the `postgres_only` marker.

Tests marked `postgres_only` need a real PostgreSQL server (row locks,
concurrency). On SQLite they are deselected, not skipped: `scripts/test` runs them
in its PostgreSQL pass. Browser tests (`browser` marker) run in the SQLite pass only.
"""

import os

import pytest

# pytest-django's live_server and Playwright's sync API share the main thread with
# an event loop, which Django would otherwise take for an async context.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]

_POSTGRES_ONLY_DESELECTED = pytest.StashKey[int]()


def using_postgres() -> bool:
    return os.environ.get("DATABASE_URL", "").startswith("postgres")


@pytest.fixture(scope="session")
def media_root(tmp_path_factory):
    return tmp_path_factory.mktemp("media")


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, media_root):
    """Uploaded files never land in the checkout's var/."""
    settings.MEDIA_ROOT = media_root


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


def pytest_collection_modifyitems(config, items):
    if using_postgres():
        return
    selected, deselected = [], []
    for item in items:
        (deselected if item.get_closest_marker("postgres_only") else selected).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = selected
    config.stash[_POSTGRES_ONLY_DESELECTED] = len(deselected)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    count = config.stash.get(_POSTGRES_ONLY_DESELECTED, 0)
    if count:
        terminalreporter.write_line(
            f"{count} postgres_only test(s) deselected on SQLite: they need PostgreSQL "
            "and run in the PostgreSQL pass of scripts/test."
        )

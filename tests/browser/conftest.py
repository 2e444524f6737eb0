"""Browser tests' fixtures: a fresh `threadline demo` per test, one Chromium per module, and a
page at 1400x900 whose every step is photographed (and, on failure, kept with the demo's log).

Playwright's sync API is used from plain (non-async) tests: it runs its own event loop, which
must not be nested in the one pytest-asyncio gives async tests.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.browser.browser_support import (
    VIEWPORT,
    Demo,
    Playground,
    Steps,
    chromium_path,
    demo_running,
    launch,
)

WAIT_MS = 10_000  # how long a visible effect may take: auto-waiting, never a fixed sleep
FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    # Fixtures learn from this whether the test failed, to keep the page and the demo's log.
    report = yield
    if report.failed:
        item.stash[FAILED] = True
    return report


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if chromium_path() is None:
        message = "Chromium is not installed (apt-get install chromium)"
        if os.environ.get("CI") or os.environ.get("THREADLINE_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    expect.set_options(timeout=WAIT_MS)
    with sync_playwright() as playwright:
        browser = launch(playwright)
        yield browser
        browser.close()


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    """`threadline demo` as a person starts it; it must stop cleanly on SIGTERM, having
    logged no error on the way."""
    with demo_running(tmp_path / "data") as running:
        yield running
    assert running.process.returncode == 0, "".join(running.output)
    assert not running.logged_errors(), "\n".join(running.logged_errors())


@pytest.fixture
def steps(request: pytest.FixtureRequest) -> Steps:
    return Steps.fresh(request.node.name)


@pytest.fixture
def page(
    browser: Browser, demo: Demo, steps: Steps, request: pytest.FixtureRequest
) -> Iterator[Page]:
    """The playground, opened on a first visit (nothing stored in the browser yet)."""
    context = browser.new_context(viewport=VIEWPORT, locale="en-GB", timezone_id="UTC")
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    steps.watch(page)
    page.goto(demo.url)
    yield page
    if request.node.stash.get(FAILED, False):
        steps.keep_failure(page, demo)
    context.close()
    assert not steps.errors, f"the page threw: {steps.errors}"


@pytest.fixture
def playground(page: Page) -> Playground:
    """The page with the first visit's tour skipped, as most visitors would."""
    pg = Playground(page)
    pg.skip_tour()
    return pg

"""The README's picture of the playground, made the way the browser tests drive it:
`python -m tests.browser.screenshot [PATH]` (or `scripts/screenshot`) writes docs/playground.png.

The moment shown: a customer's ticket claimed and answered. Slack shows the card with its
buttons and the thread where the agent answered; Discord shows the customer's DM with the
reply and the customer writing back.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import ViewportSize, expect, sync_playwright

from tests.browser.browser_support import (
    ROOT,
    Playground,
    agent_claims,
    agent_replies,
    customer_writes_in,
    demo_running,
    launch,
)

TARGET = ROOT / "docs" / "playground.png"
# A little shorter than the tests' window: the README shows it at full width.
VIEWPORT: ViewportSize = {"width": 1400, "height": 860}
CUSTOMER_ANSWER = "Thank you! It was a birthday present, so the sooner the better."
WAIT_MS = 10_000


def make(target: Path) -> int:
    """Play the scene and photograph it; the PNG's size in bytes."""
    expect.set_options(timeout=WAIT_MS)
    with (
        tempfile.TemporaryDirectory(prefix="threadline-screenshot-") as scratch,
        demo_running(Path(scratch) / "data") as demo,
        sync_playwright() as playwright,
    ):
        browser = launch(playwright)
        context = browser.new_context(viewport=VIEWPORT, locale="en-GB", timezone_id="UTC")
        context.set_default_timeout(WAIT_MS)
        page = context.new_page()
        page.goto(demo.url)
        pg = Playground(page)
        pg.skip_tour()
        number = customer_writes_in(pg)
        agent_claims(pg, number)
        agent_replies(pg, number)
        pg.discord_write(CUSTOMER_ANSWER)
        expect(pg.thread.get_by_test_id("message").filter(has_text=CUSTOMER_ANSWER)).to_be_visible()
        page.get_by_test_id("clock-now").hover()  # no hover or focus ring left on a message
        target.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=target, animations="disabled", caret="hide")
        browser.close()
    return target.stat().st_size


def main(argv: list[str]) -> None:
    target = Path(argv[0]) if argv else TARGET
    size = make(target)
    print(f"Wrote {target} ({size // 1024} KB)")


if __name__ == "__main__":
    main(sys.argv[1:])

"""What the browser tests stand on: `threadline demo` run as a person runs it, Debian's Chromium
driven by Playwright, and a folder of screenshots for every step.

Shared by the tests (through `conftest.py`) and by `tests/browser/screenshot.py`, which makes the
README's picture with the same code.
"""

from __future__ import annotations

import logging
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Browser, Locator, Page, Playwright, ViewportSize, expect

from integrations.sandbox.slack import DEMO as SLACK

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
THREADLINE = Path(sys.executable).parent / "threadline"
CHROMIUM = "/usr/bin/chromium"  # Debian's package: Playwright's own browser builds are not used
BANNER = re.compile(r"Open (http://\S+?)/? in your browser")
START_TIMEOUT = 60.0
STOP_TIMEOUT = 20.0
VIEWPORT: ViewportSize = {"width": 1400, "height": 900}
_SERIOUS = re.compile(r"^\S+ \S+ (ERROR|CRITICAL) ")  # the demo's log: "date time LEVEL name: …"


# --- the demo -------------------------------------------------------------------------


@dataclass
class Demo:
    """A running `threadline demo --port 0 --data DIR` and what it printed."""

    data: Path
    process: subprocess.Popen[str]
    url: str = ""
    output: list[str] = field(default_factory=list)
    lines: queue.Queue[str | None] = field(default_factory=queue.Queue)
    pump: threading.Thread | None = None

    @property
    def log_file(self) -> Path:
        return self.data / "threadline.log"

    def logged_errors(self) -> list[str]:
        """The log's ERROR and CRITICAL lines: a server failure the page may not show."""
        if not self.log_file.exists():
            return []
        text = self.log_file.read_text(encoding="utf-8", errors="replace")
        return [line for line in text.splitlines() if _SERIOUS.match(line)]

    def read_output(self) -> None:
        """Read the demo's output to the end, so its pipe never fills and blocks it."""
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)
            self.lines.put(line)
        self.lines.put(None)

    def wait_for_url(self, timeout: float) -> str | None:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                return None
            if line is None:
                return None
            if found := BANNER.search(line):
                return found[1] + "/"
        return None


def start_demo(data: Path, *, timeout: float = START_TIMEOUT, args: Sequence[str] = ()) -> Demo:
    """Start the demo on a free port and wait for the banner naming its URL; `args` are more
    of its options (`--workspaces slack,discord`)."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        env.pop(name, None)  # the demo and the page only ever talk over loopback
    process = subprocess.Popen(
        [str(THREADLINE), "demo", "--port", "0", "--data", str(data), *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=data.parent,
    )
    demo = Demo(data, process)
    demo.pump = threading.Thread(target=demo.read_output, daemon=True)
    demo.pump.start()
    url = demo.wait_for_url(timeout)
    if url is None:
        stop_demo(demo)
        raise RuntimeError(
            f"threadline demo gave no URL within {timeout:.0f} s:\n{''.join(demo.output)}"
        )
    demo.url = url
    return demo


def stop_demo(demo: Demo) -> None:
    """SIGTERM, as Ctrl-C or a service manager would; SIGKILL if it will not stop."""
    process = demo.process
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            log.warning("threadline demo ignored SIGTERM for %.0f s: killed", STOP_TIMEOUT)
            process.kill()
            process.wait()
    if demo.pump is not None:
        demo.pump.join(5)  # the pipe is at its end once the process is gone
    if process.stdout is not None:
        process.stdout.close()


@contextmanager
def demo_running(data: Path, args: Sequence[str] = ()) -> Iterator[Demo]:
    demo = start_demo(data, args=args)
    try:
        yield demo
    finally:
        stop_demo(demo)


# --- the browser ----------------------------------------------------------------------


def chromium_path() -> str | None:
    """Debian's Chromium, if installed (THREADLINE_CHROMIUM may name another)."""
    wanted = os.environ.get("THREADLINE_CHROMIUM", CHROMIUM)
    return wanted if Path(wanted).exists() else shutil.which("chromium")


def launch(playwright: Playwright) -> Browser:
    executable = chromium_path()
    if executable is None:
        raise RuntimeError("Chromium is not installed (apt-get install chromium)")
    args = ["--disable-dev-shm-usage"]  # containers often have a tiny /dev/shm
    if os.geteuid() == 0:
        args.append("--no-sandbox")  # Chromium's sandbox refuses to run as root
    return playwright.chromium.launch(executable_path=executable, args=args)


# --- artefacts ------------------------------------------------------------------------


def artefacts_root() -> Path:
    return Path(os.environ.get("THREADLINE_ARTIFACTS", ROOT / ".artifacts")) / "browser"


def _slug(text: str) -> str:
    """A name safe in a path: "reply (with 'quotes')" -> "reply-with-quotes-"."""
    return re.sub(r"[^\w.-]+", "-", text)


@dataclass
class Steps:
    """Screenshots of one test, numbered in order, and what to keep when it fails."""

    folder: Path
    count: int = 0
    errors: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)

    @classmethod
    def fresh(cls, name: str) -> Steps:
        folder = artefacts_root() / _slug(name)
        shutil.rmtree(folder, ignore_errors=True)  # only this run's pictures
        folder.mkdir(parents=True)
        return cls(folder)

    def watch(self, page: Page) -> None:
        """Remember the page's uncaught errors and console complaints."""
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on(
            "console",
            lambda msg: (
                self.console.append(f"{msg.type}: {msg.text}")
                if msg.type in ("error", "warning")
                else None
            ),
        )

    def shot(self, page: Page, step: str) -> Path:
        self.count += 1
        path = self.folder / f"{self.count:02d}-{_slug(step)}.png"
        page.screenshot(path=path)
        return path

    def keep_failure(self, page: Page | None, demo: Demo | None) -> None:
        """The page's HTML, its console and the demo's log and output, beside the shots."""
        if page is not None and not page.is_closed():
            try:
                self.shot(page, "failed")
                (self.folder / "page.html").write_text(page.content(), encoding="utf-8")
            except Exception:  # a crashed page must not hide the test's own failure
                log.exception("Could not save the failed page")
        lines = [*self.errors, *self.console]
        (self.folder / "console.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
        if demo is not None:
            (self.folder / "demo-output.txt").write_text("".join(demo.output), encoding="utf-8")
            if demo.log_file.exists():
                shutil.copy(demo.log_file, self.folder / "threadline.log")


# --- the page, as a person uses it ----------------------------------------------------

# Messages in a Slack channel (the thread panel's replies excluded).
_CHANNEL_MESSAGES = '[data-testid="message"]:not([data-testid="thread-panel"] *)'
_CARDS = f'{_CHANNEL_MESSAGES}, [data-testid="thread-parent"]'


class Playground:
    """The playground page driven only as a person would: clicks, typing, what is visible.
    Each verb waits for its visible effect, so tests read as the story they tell."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.discord = page.locator('[data-pane="discord"]')
        self.slack = page.locator('[data-pane="slack"]')
        self.thread = self.slack.get_by_test_id("thread-panel")
        self.staff = page.locator('[data-pane="staff"]')
        self.toast = page.get_by_test_id("toast")
        self.tour = page.get_by_test_id("tour")

    def skip_tour(self) -> None:
        expect(self.tour).to_be_visible()
        self.tour.get_by_test_id("tour-skip").click()
        expect(self.tour).to_be_hidden()

    def modal(self, side: str) -> Locator:
        return self.page.locator(f'[data-testid="modal"][data-side="{side}"]')

    # -- who you are

    def be_customer(self, user_id: int | str) -> None:
        self.page.get_by_test_id("who-discord").select_option(str(user_id))
        expect(self.page.get_by_test_id("who-discord")).to_have_value(str(user_id))

    def be_slack_person(self, user_id: str) -> None:
        self.page.get_by_test_id("who-slack").select_option(user_id)
        expect(self.page.get_by_test_id("who-slack")).to_have_value(user_id)

    # -- Discord

    def discord_open_dm(self) -> None:
        self.discord.locator('[data-testid="nav"][data-kind="dm"]').click()

    def discord_open(self, channel_id: int | str) -> None:
        self.discord.locator(f'[data-testid="nav"][data-channel="{channel_id}"]').click()

    def discord_write(self, text: str) -> None:
        box = self.discord.get_by_test_id("discord-composer")
        box.fill(text)
        box.press("Enter")
        expect(self.discord_message(text)).to_be_visible()

    def discord_message(self, text: str | re.Pattern[str]) -> Locator:
        return self.discord.get_by_test_id("message").filter(has_text=text)

    # -- Discord's staff channel (agents working tickets in Discord)

    def be_staff(self, user_id: int | str) -> None:
        self.page.get_by_test_id("who-staff").select_option(str(user_id))
        expect(self.page.get_by_test_id("who-staff")).to_have_value(str(user_id))

    def staff_open(self, channel_id: int | str) -> None:
        """Open a channel (a forum lists its posts) from the staff pane's sidebar."""
        self.staff.locator(f'[data-testid="nav"][data-channel="{channel_id}"]').click()

    def staff_post(self, text: str | re.Pattern[str]) -> Locator:
        """A post in the open forum's list, by what its title or card says."""
        return self.staff.get_by_test_id("post").filter(has_text=text)

    def staff_message(self, text: str | re.Pattern[str]) -> Locator:
        return self.staff.get_by_test_id("message").filter(has_text=text)

    def staff_write(self, text: str) -> None:
        """Write in the open post or channel of the staff pane."""
        box = self.staff.get_by_test_id("staff-composer")
        box.fill(text)
        box.press("Enter")
        expect(self.staff_message(text)).to_be_visible()

    # -- Slack

    def slack_open(self, channel: str) -> None:
        self.slack.locator(f'[data-testid="nav"][data-channel="{channel}"]').click()

    def slack_messages(self) -> Locator:
        return self.slack.locator(_CHANNEL_MESSAGES)

    def card(self, number: int) -> Locator:
        """A ticket's card as shown, found by its header "#1001 · subject": atop its open
        thread (the panel covers the channel in a narrow pane), else in the channel."""
        return self.slack.locator(_CARDS).filter(has_text=f"#{number} · ").last

    def click_on_card(self, number: int, label: str) -> None:
        self.card(number).get_by_role("button", name=label, exact=True).click()

    def open_thread(self, number: int) -> None:
        self.card(number).get_by_test_id("replies").click()
        expect(self.thread).to_be_visible()

    def reply_in_thread(self, text: str) -> None:
        box = self.thread.get_by_test_id("thread-composer")
        box.fill(text)
        box.press("Enter")
        expect(self.thread.get_by_test_id("message").filter(has_text=text)).to_be_visible()

    # -- the clock

    def move_clock(self, which: str) -> str:
        """Press "+1 hour" ("1h"), "+1 day" ("1d") or "Next SLA event" ("next"); the note the
        page shows for this press (not one left over from the last)."""
        shown = self.page.get_by_test_id("clock-now")
        before = shown.inner_text()
        with self.page.expect_response(lambda r: r.url.endswith("/api/act")) as answered:
            self.page.get_by_test_id(f"clock-{which}").click()
        reply = answered.value.json()
        assert reply.get("ok"), reply
        note = str(reply.get("note", ""))
        expect(self.toast).to_contain_text(note)
        if which != "next":
            expect(shown).not_to_have_text(before)
        return note


# --- one ticket's life, as the tests and the README's picture tell it -----------------

CUSTOMER_TEXT = "My order #A-1 never arrived"
REPLY_TEXT = "We're on it, sorry about that!"


def customer_writes_in(pg: Playground, text: str = CUSTOMER_TEXT) -> int:
    """Alice writes to Support Bot in her DM; the card appears in Slack's #support. Its number."""
    pg.discord_open_dm()
    pg.discord_write(text)
    pg.slack_open(SLACK.support)
    card = pg.slack_messages().filter(has_text=re.compile(r"#\d+ · ")).last
    expect(card).to_be_visible()
    found = re.search(r"#(\d+) · ", card.inner_text())
    assert found, card.inner_text()
    number = int(found[1])
    expect(pg.discord_message(f"#{number}")).to_be_visible()  # the bot's receipt in the DM
    return number


def agent_claims(pg: Playground, number: int) -> None:
    pg.click_on_card(number, "Claim")
    expect(pg.card(number)).to_contain_text("Claimed")
    expect(pg.card(number).get_by_role("button", name="Claim", exact=True)).to_have_count(0)


def agent_replies(pg: Playground, number: int, text: str = REPLY_TEXT) -> None:
    pg.open_thread(number)
    pg.reply_in_thread(text)
    expect(pg.discord_message(text)).to_be_visible()

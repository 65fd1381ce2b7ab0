"""The README's screenshots, taken from a real `ldn-bot serve` in headless Chromium.

    .venv/bin/python scripts/screenshots.py      # or: make screenshots

Starts `ldn-bot serve` on a free loopback port with a throw-away SQLite database, asks a
few questions in the web widget (desktop and phone sizes), opens the quoted passage on
the article page, writes the review report of that conversation, and saves PNGs in
docs/screenshots/. Nothing leaves the machine.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
OUT = ROOT / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
BOT = "#rw-messages .rw-from-response > .rw-message"
QUESTIONS = [
    "what are the side effects?",
    "how much should I take?",
    "does it make you bleed?",
    "can you get it in australia?",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_up(url: str, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"ldn-bot serve did not come up at {url}")


def ask(page: object, text: str) -> None:
    before = page.locator(BOT).count()  # type: ignore[attr-defined]
    page.locator(".rw-new-message").fill(text)  # type: ignore[attr-defined]
    page.keyboard.press("Enter")  # type: ignore[attr-defined]
    page.wait_for_function(  # type: ignore[attr-defined]
        f"() => document.querySelectorAll('{BOT}').length > {before}", timeout=30_000
    )
    page.wait_for_timeout(400)  # type: ignore[attr-defined]


def main() -> int:
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    port, action_port = free_port(), free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="ldn-shots-") as tmp:
        database = f"sqlite:///{tmp}/conversations.sqlite"
        env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false"}
        serve = subprocess.Popen(
            [
                *(str(BIN / "ldn-bot"), "serve", "--port", str(port)),
                *("--action-port", str(action_port), "--database-url", database),
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_up(url)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
                )
                for name, viewport in (
                    ("widget-desktop", {"width": 1280, "height": 900}),
                    ("widget-phone", {"width": 390, "height": 844}),
                ):
                    page = browser.new_page(viewport=viewport)  # type: ignore[arg-type]
                    page.goto(url)
                    page.locator("button.rw-launcher").click()
                    page.wait_for_function(
                        "() => document.querySelectorAll('.rw-reply').length > 0",
                        timeout=30_000,
                    )
                    desktop = name == "widget-desktop"
                    for question in QUESTIONS if desktop else QUESTIONS[:1]:
                        ask(page, question)
                    if desktop:  # a down-vote, for the report's transcript
                        page.locator(".ldn-vote-down").last.click()
                        page.wait_for_timeout(800)
                        ask(page, QUESTIONS[2])
                    page.screenshot(path=str(OUT / f"{name}.png"))
                    page.close()
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                page.goto(f"{url}/article?q=s29,s30#s29")
                page.screenshot(path=str(OUT / "article-passage.png"))
                report = Path(tmp) / "report.html"
                subprocess.run(
                    [
                        str(BIN / "ldn-bot"),
                        "report",
                        "--database-url",
                        database,
                        "--out",
                        str(report),
                    ],
                    cwd=ROOT,
                    env=env,
                    check=True,
                    stdout=subprocess.DEVNULL,
                )
                page.goto(report.as_uri())
                page.screenshot(path=str(OUT / "report.png"), full_page=False)
                page.locator("#unanswered").screenshot(path=str(OUT / "report-unanswered.png"))
                page.locator("#transcripts").screenshot(path=str(OUT / "report-transcript.png"))
                browser.close()
        finally:
            serve.terminate()
            serve.wait(timeout=30)
    for path in sorted(OUT.glob("*.png")):
        print(f"{path.relative_to(ROOT)}  {path.stat().st_size // 1024} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The chat page in a real browser: Playwright for Python driving Debian's ``chromium``.

A missing chromium fails these tests (``make browser`` installs it); they are never skipped.
Set ``SCOQA_SCREENSHOT=1`` to also refresh ``docs/screenshot.png``, the README's picture.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from scoqa.config import Settings
from scoqa.index.build import build_index

from .conftest import ROOT, free_port

# Read at import: the autouse fixture in conftest clears every SCOQA_* variable before each test.
REFRESH_SCREENSHOT = os.environ.get("SCOQA_SCREENSHOT", "").strip() not in ("", "0")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
XSS = "<img src=x onerror=alert(1)>"
ANSWERS = "#scoqa-chat .scoqa-answer, #scoqa-chat .scoqa-miss"
SOURCE_TITLES = "#scoqa-chat .thought-group .title"


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Debian's chromium under Playwright (Playwright never downloads a browser here)."""
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("chromium is not installed: run `make browser` (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, timeout=60_000)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser):  # type: ignore[no-untyped-def]
    """A fresh page that records every JavaScript dialog (alert, confirm, prompt) it is shown."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.dialogs = []  # type: ignore[attr-defined]

    def on_dialog(dialog) -> None:  # type: ignore[no-untyped-def]
        page.dialogs.append(dialog.message)  # type: ignore[attr-defined]
        dialog.dismiss()

    page.on("dialog", on_dialog)
    try:
        yield page
    finally:
        context.close()


def ask(page, question: str) -> None:  # type: ignore[no-untyped-def]
    """Type ``question`` into the box, press Enter and wait for its answer to appear."""
    before = page.locator(ANSWERS).count()
    box = page.locator("#scoqa-question textarea")
    box.fill(question)
    box.press("Enter")
    page.wait_for_function(
        "([selector, n]) => document.querySelectorAll(selector).length > n", arg=[ANSWERS, before], timeout=90_000
    )


@contextlib.contextmanager
def served(app_module, settings: Settings) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """The app over ``settings`` (its index built first), served in this process; yields its URL."""
    build_index(settings)
    demo = app_module.build_app(settings)
    port = free_port()
    try:
        app_module.launch(demo, "127.0.0.1", port, prevent_thread_lock=True, quiet=True)
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


def open_page(page, url: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(url)
    page.locator("#scoqa-question textarea").wait_for()
    page.locator("#scoqa-index").get_by_text("Passages").wait_for()


@pytest.mark.timeout(300)
def test_ask_open_source_follow_up_and_no_script_runs(page, app_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    open_page(page, app_url)
    assert page.locator("#scoqa-index").get_by_text("Up to date").is_visible()

    ask(page, "How many people died in Beslan?")
    answer = page.locator(ANSWERS).last
    assert "300" in answer.inner_text()
    assert answer.locator(".scoqa-cite").first.inner_text() == "[1]"
    title = page.locator(SOURCE_TITLES).first
    assert re.search(r"^\[1\] .*report\.txt.*line", title.inner_text())
    quote = page.locator("#scoqa-chat mark.scoqa-quote").first
    assert not quote.is_visible()  # sources start collapsed
    title.click()
    quote.wait_for(state="visible")
    assert "300" in quote.inner_text()

    ask(page, "When did it happen?")
    assert page.locator(ANSWERS).count() == 2
    assert page.locator(SOURCE_TITLES).count() >= 2
    follow_up = page.locator(ANSWERS).last
    assert "September 2004" in follow_up.inner_text() and "[1]" in follow_up.inner_text()
    quote.wait_for(state="visible", timeout=5_000)  # the source opened earlier stays open
    page.locator(SOURCE_TITLES, has_text="[1]").last.click()  # the follow-up's cited source
    page.wait_for_timeout(800)  # let the opening animation settle before the picture
    page.screenshot(path=str(tmp_path / "chat.png"))
    if REFRESH_SCREENSHOT:
        (ROOT / "docs").mkdir(exist_ok=True)
        shutil.copyfile(tmp_path / "chat.png", ROOT / "docs" / "screenshot.png")

    ask(page, "What is the capital of France?")  # out of scope: labelled, not answered
    assert page.locator("#scoqa-chat .scoqa-miss").last.inner_text().endswith("Not in the documents")
    assert "scoqa-answer" not in (page.locator(ANSWERS).last.get_attribute("class") or "")
    assert page.locator(SOURCE_TITLES).last.inner_text().startswith("Possibly related · ")

    ask(page, XSS)
    assert page.locator('#scoqa-chat [data-testid="user"]').last.inner_text().strip() == XSS
    assert page.locator("#scoqa-chat img[src='x']").count() == 0
    page.wait_for_timeout(500)  # an onerror handler would have fired by now
    assert page.dialogs == []  # type: ignore[attr-defined]
    page.screenshot(path=str(tmp_path / "xss.png"))

    page.locator("#scoqa-clear").click()
    page.get_by_text("Which exercise was held in Zhambyl?").wait_for()
    assert page.locator(ANSWERS).count() == 0


@pytest.mark.timeout(300)
def test_example_click_and_rebuild_with_progress(page, app_url: str) -> None:  # type: ignore[no-untyped-def]
    open_page(page, app_url)
    page.get_by_text("When was the SCO founded?").click()
    page.wait_for_function("(s) => document.querySelectorAll(s).length > 0", arg=ANSWERS, timeout=90_000)
    assert "2001" in page.locator(ANSWERS).last.inner_text()

    page.locator("#scoqa-rebuild").click()
    page.get_by_text(re.compile("Reading and chunking|embedding passages")).first.wait_for(timeout=30_000)
    page.get_by_text(re.compile(r"Index rebuilt: \d+ passages")).wait_for(timeout=180_000)
    assert page.locator("#scoqa-index").get_by_text("Up to date").is_visible()

    ask(page, "How many people died in Beslan?")  # served from the reloaded index
    assert "300" in page.locator(ANSWERS).last.inner_text()
    assert page.dialogs == []  # type: ignore[attr-defined]


HOSTILE_NAME = "<img src=x onerror=alert(4)>"
HOSTILE_SOURCE = """Zorblax Treaty

The Zorblax treaty was signed in Astana in 1999 by five member states of the organisation.
Its annex quotes the markup <img src=x onerror=alert(2)> and <script>alert(3)</script> verbatim.
The treaty also covers **joint exercises** and the exchange of information between agencies.
"""


@pytest.mark.timeout(300)
def test_markup_in_a_source_is_shown_not_run(page, app_module, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "hostile.txt").write_text(HOSTILE_SOURCE, encoding="utf-8")
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index", auto_update=True)
    with served(app_module, settings) as url:
        open_page(page, url)
        ask(page, "What markup does the annex of the Zorblax treaty quote?")
        for title in page.locator(SOURCE_TITLES).all():
            title.click()
        passages = " ".join(page.locator("#scoqa-chat .scoqa-passage").all_inner_texts())
        assert "<img src=x onerror=alert(2)>" in passages
        assert "<script>alert(3)</script>" in passages
        assert page.locator("#scoqa-chat img[src='x'], #scoqa-chat script").count() == 0

        assert page.locator("#scoqa-index").get_by_text("Up to date").is_visible()
        (corpus / f"{HOSTILE_NAME}.pdf").write_bytes(b"not a pdf")
        page.locator("#scoqa-check").click()  # the index panel lists the unreadable file by name
        page.locator("#scoqa-index").get_by_text("Files that could not be read").wait_for()
        assert f"{HOSTILE_NAME}.pdf" in page.locator("#scoqa-index").inner_text()

        page.locator("#scoqa-rebuild").click()  # the unreadable file's name shows in a notice
        notice = page.get_by_text(re.compile("unreadable PDF")).first
        notice.wait_for(timeout=60_000)
        assert f"{HOSTILE_NAME}.pdf" in notice.inner_text()
        assert page.locator("img[src='x']").count() == 0
        page.wait_for_timeout(500)
        assert page.dialogs == []  # type: ignore[attr-defined]


@pytest.mark.timeout(300)
def test_a_question_can_be_scoped_to_chosen_documents(page, app_module, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from .index_helpers import make_settings

    with served(app_module, make_settings(tmp_path).with_(auto_update=True)) as url:
        open_page(page, url)
        question = "Where is the Regional Anti-Terrorist Structure located?"
        ask(page, question)
        assert "Tashkent" in page.locator(ANSWERS).last.inner_text()

        selector = page.locator("#scoqa-documents input")
        selector.click()
        option = page.get_by_role("option", name="beta.md")
        option.wait_for(timeout=30_000)  # the indexed documents are offered by name
        assert page.get_by_role("option", name="alpha.md").count() == 1
        option.click()
        page.keyboard.press("Escape")
        ask(page, question)  # only beta.md may answer now: it knows nothing of the structure
        assert "Tashkent" not in page.locator(ANSWERS).last.inner_text()
        titles = " ".join(page.locator(SOURCE_TITLES).all_inner_texts()[-3:])
        assert "alpha.md" not in titles

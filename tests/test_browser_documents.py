"""Documents in the app, in Debian's chromium: upload, ask, remove; hostile names and pages.

Set ``SCOQA_SCREENSHOT=1`` to refresh the README's pictures of the upload (``docs/upload.png``).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from .conftest import ROOT
from .index_helpers import make_settings, text_pdf
from .test_browser import (  # noqa: F401
    ANSWERS,
    REFRESH_SCREENSHOT,
    SOURCE_TITLES,
    ask,
    browser,
    open_page,
    page,
    served,
)

GOOD = ("Vardenfell Lighthouse\n\n"
        "The harbour of Skarholm has sheltered fishing boats since the middle ages; its stone pier was "
        "lengthened twice in the nineteenth century, when the herring trade was at its height.\n\n"
        "The Vardenfell lighthouse was rebuilt in 1973 after the great storm of that winter. Its lamp can be "
        "seen from forty kilometres away on a clear night.\n\n"
        "The keeper's house below the tower now holds a small museum of ship models, charts and logbooks.")
EVIL_HTML = (b"<html><head><title>Quorvex notes</title><script>alert('script ran')</script></head><body>"
             b"<h1>Quorvex</h1><p>The Quorvex accord was signed in Tallinn by four harbour towns.</p>"
             b"<img src=x onerror=\"alert('image ran')\"><p onclick=alert(3)>Its text is read, never run.</p>"
             b"</body></html>")


def pdf_file(name: str, data: bytes) -> dict:
    return {"name": name, "mimeType": "application/pdf", "buffer": data}


def upload(page, *files: dict) -> None:  # type: ignore[no-untyped-def]
    page.locator("#scoqa-upload input[type=file]").set_input_files(list(files))


def outcome(page, text: str) -> str:  # type: ignore[no-untyped-def]
    """Wait for the upload/remove report to say ``text``; return all of it."""
    page.locator("#scoqa-outcome").get_by_text(text).first.wait_for(timeout=180_000)
    return page.locator("#scoqa-outcome").inner_text()


@pytest.mark.timeout(420)
def test_upload_a_good_and_a_broken_pdf_ask_then_remove(page, browser, app_module, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(tmp_path).with_(auto_update=True)
    with served(app_module, settings) as url:
        other = browser.new_context().new_page()  # a second session, open before the upload
        other.set_default_timeout(60_000)
        open_page(other, url)
        open_page(page, url)
        upload(page, pdf_file("lighthouse.pdf", text_pdf(GOOD)), pdf_file("broken.pdf", text_pdf(GOOD)[:500]))
        report = outcome(page, "lighthouse.pdf: added")
        assert re.search(r"lighthouse.pdf: added — \d+ passages", report)
        lines = [line for line in report.splitlines() if "broken.pdf" in line]
        assert len(lines) == 1 and "not added: unreadable PDF" in lines[0]
        row = page.locator(".scoqa-doc-row", has_text="lighthouse.pdf")
        row.wait_for()
        assert re.search(r"\d+ passages", row.inner_text())
        assert page.locator(".scoqa-doc-row").count() == 4  # alpha, beta, gamma and the new one
        page.wait_for_timeout(500)
        page.screenshot(path=str(tmp_path / "upload.png"), full_page=True)
        if REFRESH_SCREENSHOT:
            shutil.copyfile(tmp_path / "upload.png", ROOT / "docs" / "upload.png")

        ask(other, "When was the Vardenfell lighthouse rebuilt?")  # every open session answers from it
        assert "1973" in other.locator(ANSWERS).last.inner_text()
        other.context.close()

        ask(page, "When was the Vardenfell lighthouse rebuilt?")
        assert "1973" in page.locator(ANSWERS).last.inner_text()
        title = page.locator(SOURCE_TITLES).first
        assert "lighthouse.pdf" in title.inner_text()
        assert not (settings.corpus_dir / "broken.pdf").exists()

        title.click()  # the source opens; its Open link shows the page in a new tab, the quote highlighted
        with page.context.expect_page() as opened:
            page.locator("#scoqa-chat a.scoqa-open", has_text="Open page 1").first.click()
        view = opened.value
        picture = view.locator("#scoqa-page")
        picture.wait_for()
        assert int(picture.get_attribute("data-highlights") or 0) >= 1
        assert view.evaluate("document.getElementById('scoqa-page').naturalWidth") > 500
        assert "1973" in view.locator("#passage mark").first.inner_text()
        assert view.url.endswith("#cited") and view.locator(".sheet #cited").count() == 1  # scrolled to the mark
        view.screenshot(path=str(tmp_path / "page-view.png"))
        if REFRESH_SCREENSHOT:
            shutil.copyfile(tmp_path / "page-view.png", ROOT / "docs" / "page-view.png")
        view.close()

        row.get_by_role("button", name="Remove").click()
        outcome(page, "lighthouse.pdf removed")
        page.locator(".scoqa-doc-row", has_text="lighthouse.pdf").wait_for(state="detached")
        assert (settings.corpus_dir / ".trash" / "lighthouse.pdf").exists()
        ask(page, "When was the Vardenfell lighthouse rebuilt?")
        titles = page.locator(SOURCE_TITLES).all_inner_texts()
        assert "1973" not in page.locator(ANSWERS).last.inner_text()
        assert not any("lighthouse.pdf" in t for t in titles[-3:])
        assert page.dialogs == []  # type: ignore[attr-defined]


@pytest.mark.timeout(420)
def test_hostile_names_and_a_page_with_scripts_do_nothing(page, app_module, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(tmp_path).with_(auto_update=True)
    with served(app_module, settings) as url:
        open_page(page, url)
        upload(page,
               {"name": "../../etc/passwd", "mimeType": "text/plain", "buffer": b"root:x:0:0:root:/root:/bin/bash\n"},
               {"name": "../../escape.md", "mimeType": "text/markdown", "buffer": b"# Escape\n\nThe Zelmor gate is blue.\n"},
               {"name": "<img src=x onerror=alert(4)>.html", "mimeType": "text/html", "buffer": EVIL_HTML})
        report = outcome(page, "escape.md")
        assert "passwd was not added: not a kind of document scoqa reads" in report
        assert "escape.md: added" in report
        page.locator(".scoqa-doc-row", has_text="onerror").wait_for()
        ask(page, "Where was the Quorvex accord signed?")
        assert "Tallinn" in page.locator(ANSWERS).last.inner_text()
        for title in page.locator(SOURCE_TITLES).all():
            title.click()
        page.wait_for_timeout(500)
        assert page.locator("img[src='x'], #scoqa-chat script").count() == 0
        assert page.dialogs == []  # type: ignore[attr-defined]
    corpus = sorted(p.name for p in settings.corpus_dir.iterdir() if not p.name.startswith("."))
    assert corpus == ["alpha.md", "beta.md", "escape.md", "gamma.txt", "img src_x onerror_alert(4).html"]
    beside = {p.name for p in tmp_path.iterdir() if not p.name.startswith(".index.")}  # the build's lock files
    assert beside == {"corpus", "index"}  # nothing written beside the corpus

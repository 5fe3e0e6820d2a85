"""The cited page, opened from an answer: a PDF page drawn with the quote highlighted, a text's
section with the quote marked; and no file outside the corpus ever read or shown."""

from __future__ import annotations

import base64
import io
import os
import re
from pathlib import Path

import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from scoqa.api import ask
from scoqa.config import Settings
from scoqa.index.build import build_index
from scoqa.index.corpus import TRASH, document_path
from scoqa.interfaces import viewer
from scoqa.interfaces.html import open_url, reply_messages

from .index_helpers import make_settings, text_pdf

LIGHTHOUSE = ("The harbour of Skarholm has sheltered fishing boats since the middle ages. "
              "The Vardenfell lighthouse was rebuilt in 1973 after the great storm of that winter. "
              "Its lamp can be seen from forty kilometres away on a clear night.")
SECTION = """# Harbour rules

Boats must report to the harbour master on arrival, and moor where they are told.

The harbour gate closes at ten in the evening and opens again at five in the morning.

Fuel is sold at the north pier only, and never after dark.

# Other matters

The harbour cat is called Mirri.
"""


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = make_settings(tmp_path_factory.mktemp("viewer"), {"rules.md": SECTION})
    (settings.corpus_dir / "lighthouse.pdf").write_bytes(text_pdf(LIGHTHOUSE))
    (settings.corpus_dir / "almanac.htm").write_text(
        "<html><body><h1>The Almanac</h1><p><span class='pagenum'>[Pg 12]</span>The spring tide at Skarholm "
        "rises four metres above the quay in March.</p></body></html>", encoding="utf-8")
    (settings.corpus_dir / "hostile.txt").write_text(
        "The Zorblax annex quotes <script>alert(1)</script> and <img src=x onerror=alert(2)> verbatim.\n",
        encoding="utf-8")
    build_index(settings)
    return settings


@pytest.fixture(scope="module")
def client(corpus: Settings) -> TestClient:
    app = FastAPI(routes=viewer.routes(corpus))
    return TestClient(app)


def link_of(settings: Settings, question: str) -> str:
    """Ask, and take the Open link of the first source block, as the chat shows it."""
    reply = ask(question, settings=settings)
    block = reply_messages(reply)[1]["content"]
    href = re.search(r'href="([^"]+)"', block).group(1).replace("&amp;", "&")  # type: ignore[union-attr]
    assert href.startswith("scoqa/open?chunk=") and href.endswith("#cited")
    return "/" + href.split("#")[0]


def yellow_pixels(page_html: str) -> int:
    from PIL import Image

    data = re.search(r'src="data:image/png;base64,([^"]+)"', page_html).group(1)  # type: ignore[union-attr]
    pixels = np.asarray(Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB")).astype(int)
    r, g, b = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    return int(((r > 230) & (g > 200) & (b < 200)).sum())  # yellow over white


def test_a_pdf_page_is_drawn_with_the_quote_highlighted(corpus: Settings, client: TestClient) -> None:
    response = client.get(link_of(corpus, "When was the Vardenfell lighthouse rebuilt?"))
    assert response.status_code == 200
    assert "script-src" not in response.headers["content-security-policy"]
    assert "default-src 'none'" in response.headers["content-security-policy"]
    page = response.text
    assert re.search(r'id="scoqa-page"[^>]*data-page="1"[^>]*data-highlights="[1-9]', page)
    assert yellow_pixels(page) > 2000  # a line of text under a yellow mark
    assert '<mark class="scoqa-quote">The Vardenfell lighthouse was rebuilt in 1973' in page
    plain = client.get(link_of(corpus, "When was the Vardenfell lighthouse rebuilt?").split("&q=")[0])
    assert yellow_pixels(plain.text) > yellow_pixels(page)  # no quote given: the whole passage


def test_a_text_passage_opens_in_its_section_with_the_quote_marked(corpus: Settings, client: TestClient) -> None:
    page = client.get(link_of(corpus, "When does the harbour gate close?")).text
    assert "<h2>Harbour rules</h2>" in page
    for text in ("report to the harbour master", "Fuel is sold at the north pier"):
        assert text in page  # the rest of the section, around the cited passage
    assert "Mirri" not in page  # another section
    assert re.search(r'id="cited">[^<]*<mark class="scoqa-quote">The harbour gate closes', page)


def test_markup_in_a_source_is_shown_as_text(corpus: Settings, client: TestClient) -> None:
    page = client.get(link_of(corpus, "What does the Zorblax annex quote?")).text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script" not in page and "<img src=x" not in page


@pytest.mark.parametrize("query", [
    "chunk=nope", "chunk=../../etc/passwd", "chunk=/etc/passwd%3A1-1%3Aabc", "chunk=", "",
    "chunk=lighthouse.pdf%3A..%2F..%2Fetc%2Fpasswd",
])
def test_anything_but_a_passage_of_the_index_is_not_found(client: TestClient, query: str) -> None:
    response = client.get(f"/scoqa/open?{query}")
    assert response.status_code == 404 and "not in the index" in response.text


def test_bad_spans_and_pages_are_ignored(corpus: Settings, client: TestClient) -> None:
    link = link_of(corpus, "When was the Vardenfell lighthouse rebuilt?").split("&q=")[0]
    for extra in ("&q=5-2,abc,1-99999,-4", "&page=99", "&page=-3"):
        assert client.get(link + extra).status_code == 200


def test_no_file_outside_the_corpus_is_ever_read(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, {})
    pdf = settings.corpus_dir / "lighthouse.pdf"
    pdf.write_bytes(text_pdf(LIGHTHOUSE))
    build_index(settings)
    client = TestClient(FastAPI(routes=viewer.routes(settings)))
    link = link_of(settings, "When was the Vardenfell lighthouse rebuilt?")
    assert client.get(link).status_code == 200

    secret = tmp_path / "secret.pdf"  # the same passage, but the file now lies outside the corpus
    secret.write_bytes(text_pdf(LIGHTHOUSE.replace("rebuilt", "REBUILT")))
    pdf.unlink()
    os.symlink(secret, pdf)
    response = client.get(link)
    assert response.status_code == 404 and "data:image" not in response.text

    pdf.unlink()
    (settings.corpus_dir / TRASH).mkdir()
    (settings.corpus_dir / TRASH / "lighthouse.pdf").write_bytes(text_pdf(LIGHTHOUSE))  # removed: not shown
    assert client.get(link).status_code == 404

    for name in ("../secret.pdf", ".trash/lighthouse.pdf", str(secret), "", "lighthouse.pdf/.."):
        with pytest.raises(ValueError, match="is not a document of the corpus"):
            document_path(settings.corpus_dir, name)


def test_a_page_of_an_html_book_opens_its_section(corpus: Settings, client: TestClient) -> None:
    reply = ask("How high does the spring tide rise above the quay?", settings=corpus)
    assert reply.sources[0].page == 12  # the book's printed page, from its page mark
    assert "Open section ↗" in reply_messages(reply)[1]["content"]
    response = client.get(link_of(corpus, "How high does the spring tide rise above the quay?"))
    assert response.status_code == 200
    assert "<h2>The Almanac</h2>" in response.text and "rises four metres" in response.text


def test_open_links_name_the_page_or_the_section() -> None:
    assert open_url("a.pdf:1-2:abc", [(0, 5), (7, 9)]) == "scoqa/open?chunk=a.pdf%3A1-2%3Aabc&q=0-5%2C7-9#cited"
    assert open_url("notes/b c.md:3-3:x", []) == "scoqa/open?chunk=notes%2Fb%20c.md%3A3-3%3Ax#cited"

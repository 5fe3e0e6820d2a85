"""OCR for scanned PDF pages: Tesseract through tesserocr, each page's text cached by the page's hash.

A PDF page with no text layer but an image on it (a scan) is drawn at :data:`DPI` with pypdfium2
and read with Tesseract. The text is kept in a cache folder (beside the index, see
:attr:`scoqa.config.Settings.ocr_cache_dir`) under the hash of the drawn page, so a page is
recognised once: a later update, a status check or a re-upload of the same scan reads the cache.

The binding was chosen by measurement (docs/ingestion.md, "Scanned pages"): on a 300 dpi page of
24 lines, tesserocr (Tesseract's C API in-process) took 0.95 s a page against 1.18 s for
pytesseract (a ``tesseract`` process per page) limited to one thread and 3.5 s with its default
threads on 2 busy cores, with the same words read.

``SCOQA_OCR=auto`` (the default) reads scans when Debian's ``tesseract-ocr`` (its language data,
``eng``) is installed; ``off`` never does.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from ..config import Settings

if TYPE_CHECKING:
    from PIL import Image

log = logging.getLogger(__name__)

#: Resolution pages are drawn at for Tesseract (300 dpi is what it is trained for).
DPI = 300
LANGUAGE = "eng"
#: Part of every cache key: a change of drawing or recognition settings reads pages anew.
_VERSION = f"ocr1|{DPI}|{LANGUAGE}"


@lru_cache(maxsize=1)
def tessdata() -> str | None:
    """The folder of Tesseract's language data holding :data:`LANGUAGE`, as the installed
    ``tesseract`` reports it; None when Tesseract or the language is missing."""
    if shutil.which("tesseract") is None:
        return None
    try:
        listing = subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    output = listing.stdout + listing.stderr
    folder = re.search(r'languages in "([^"]+)"', output)
    if folder is None or LANGUAGE not in output.split():
        return None
    return folder.group(1)


def tesserocr_api(data_path: str):  # type: ignore[no-untyped-def]
    """A Tesseract instance for :data:`LANGUAGE` (one per reader: it is not thread-safe)."""
    import tesserocr

    return tesserocr.PyTessBaseAPI(path=data_path, lang=LANGUAGE)


class PageOCR:
    """Reads page images with Tesseract, remembering each page's text in ``cache_dir``.

    One Tesseract instance, used under a lock: an index build and a status check may read
    documents at the same time.
    """

    def __init__(self, cache_dir: Path, data_path: str) -> None:
        self.cache_dir = cache_dir
        self.data_path = data_path
        self._lock = threading.Lock()
        self._api = None

    def _recognise(self, image: Image.Image) -> str:
        """Run Tesseract on one page image."""
        with self._lock:
            if self._api is None:
                self._api = tesserocr_api(self.data_path)
            self._api.SetImage(image)
            return str(self._api.GetUTF8Text())

    def _words(self, image: Image.Image) -> list[tuple[str, tuple[int, int, int, int]]]:
        """Run Tesseract on one page image: its words with their boxes (left, top, right, bottom)."""
        from tesserocr import RIL, iterate_level

        with self._lock:
            if self._api is None:
                self._api = tesserocr_api(self.data_path)
            self._api.SetImage(image)
            self._api.Recognize()
            return [(str(word.GetUTF8Text(RIL.WORD)), tuple(word.BoundingBox(RIL.WORD)))  # type: ignore[misc]
                    for word in iterate_level(self._api.GetIterator(), RIL.WORD)]

    def _cached(self, image: Image.Image, kind: str, make: Callable[[], str]) -> str:
        """What ``make`` gives for this page image, kept in the cache under the image's hash."""
        key = hashlib.sha256(f"{_VERSION}|{image.mode}|{image.size}".encode() + image.tobytes()).hexdigest()
        cached = self.cache_dir / key[:2] / f"{key}.{kind}"
        try:
            return cached.read_text(encoding="utf-8")
        except OSError:
            pass
        value = make()
        try:  # written whole or not at all: a reader never sees half a page
            cached.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=cached.parent, prefix=".tmp-")
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(value)
            os.replace(temporary, cached)
        except OSError as exc:  # a read-only place: still read, only not remembered
            log.debug("cannot cache OCR text in %s: %s", cached.parent, exc)
        return value

    def read(self, image: Image.Image) -> str:
        """The text of a page image: from the cache if this page was read before, else recognised."""
        return self._cached(image, "txt", lambda: self._recognise(image))

    def words(self, image: Image.Image) -> list[tuple[str, tuple[int, int, int, int]]]:
        """The words of a page image with their boxes in its pixels (to place a quote on a scan)."""
        data = self._cached(image, "words.json", lambda: json.dumps(self._words(image)))
        return [(word, tuple(box)) for word, box in json.loads(data)]  # type: ignore[misc]


_readers: dict[Path, PageOCR] = {}
_readers_lock = threading.Lock()


def page_ocr(settings: Settings) -> PageOCR | None:
    """The OCR reader for ``settings``, or None when ``settings.ocr`` is ``off`` or Tesseract (or
    its English data) is not installed."""
    if settings.ocr == "off":
        return None
    data_path = tessdata()
    if data_path is None:
        return None
    with _readers_lock:
        reader = _readers.get(settings.ocr_cache_dir)
        if reader is None:
            reader = _readers[settings.ocr_cache_dir] = PageOCR(settings.ocr_cache_dir, data_path)
        return reader

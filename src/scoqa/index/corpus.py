"""Adding files to the corpus folder and taking them out, safely: what the app's upload and
*Remove* do before the index is updated.

A file added from outside is given a safe name (its last path part only, no leading dot, no
character a shell or a file system minds), refused above the size limit of the settings, checked
by content against its suffix (:mod:`scoqa.ingest.sniff`) and read with its reader *before* it
enters the corpus: a broken file never lands there, and nothing already indexed is touched. It is
written into a hidden staging folder inside the corpus and linked into place, so it appears
whole or not at all and never replaces a file of the same name unless asked to.

Removing a document moves its file into ``.trash/`` inside the corpus (hidden folders are never
indexed), where it can be taken back from.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..config import Settings
from ..ingest import KINDS, SUPPORTED_SUFFIXES, SourceError, file_sha256, read_document
from ..ingest.ocr import page_ocr
from ..ingest.sniff import check_content

__all__ = ["STAGING", "TRASH", "Added", "add_file", "add_files", "document_path", "move_to_trash", "remove_document",
           "safe_name"]

#: Where removed documents go, inside the corpus folder.
TRASH = ".trash"
#: Where uploads wait while they are checked, inside the corpus folder.
STAGING = ".uploads"
#: Longest name kept (in characters, suffix included).
MAX_NAME = 120
_UNSAFE = re.compile(r"[^\w .,()+\-]+")


@dataclass(frozen=True)
class Added:
    """What became of one file offered to the corpus.

    Attributes:
        name: The name it was offered under.
        source: Its name in the corpus ("" if refused).
        status: ``added``, ``replaced``, ``unchanged`` (the same bytes are there already) or ``refused``.
        reason: Why it was refused.
    """

    name: str
    source: str
    status: str
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.status != "refused"

    def __str__(self) -> str:
        if self.status == "refused":
            return f"{self.name} was not added: {self.reason}"
        renamed = f" (as {self.source})" if self.source != self.name else ""
        what = {"added": "added", "replaced": "replaced the earlier file", "unchanged": "already in the corpus"}
        return f"{self.name}{renamed}: {what[self.status]}"


def safe_name(name: str) -> str:
    """A file name that stays where it is put: the last part of ``name`` (either slash), letters,
    digits and ``space . , ( ) + - _`` only, no leading dot, at most :data:`MAX_NAME` characters.

    ``../../etc/passwd`` gives ``passwd``, ``../x.pdf`` gives ``x.pdf``.
    """
    base = unicodedata.normalize("NFC", str(name)).replace("\\", "/").split("/")[-1]
    base = _UNSAFE.sub("_", "".join(ch for ch in base if ch.isprintable())).strip(" ._")
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = stem.strip(" ._") or "document"
    suffix = f".{suffix.lower()}" if suffix else ""
    return stem[: MAX_NAME - len(suffix)].rstrip(" .") + suffix


def _refused(name: str, reason: str) -> Added:
    return Added(name, "", "refused", reason)


def _limit(settings: Settings) -> int:
    return settings.max_upload_mb * 1024 * 1024


def add_file(settings: Settings, name: str, path: Path, *, replace: bool = False) -> Added:
    """Put the file at ``path`` into the corpus as ``name`` (made safe), if scoqa can read it.

    Args:
        settings: The corpus folder and the size limit.
        name: The name the file was offered under (may hold folders, dots, anything).
        path: Where its bytes are now (outside the corpus, e.g. the app's upload folder).
        replace: Whether a different file of the same name may be replaced (it goes to the trash).

    Returns:
        What was done, or why not: never an exception for a bad file.
    """
    corpus = settings.corpus_dir
    target_name = safe_name(name)
    suffix = PurePosixPath(target_name).suffix
    if suffix not in SUPPORTED_SUFFIXES:
        return _refused(name, f"not a kind of document scoqa reads ({', '.join(SUPPORTED_SUFFIXES)})")
    try:
        size = path.stat().st_size
        if size > _limit(settings):
            return _refused(name, f"the file is {size / 1e6:.1f} MB, above the {settings.max_upload_mb} MB "
                                  "limit (SCOQA_MAX_UPLOAD_MB)")
        data = path.read_bytes()
    except OSError as exc:
        return _refused(name, f"the upload cannot be read ({exc.strerror or exc})")
    if not data:
        return _refused(name, "the file is empty")
    try:
        check_content(data, KINDS[suffix])
    except SourceError as exc:
        return _refused(name, str(exc))
    (corpus / STAGING).mkdir(exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=corpus / STAGING))
    try:
        staged = staging / target_name
        staged.write_bytes(data)
        try:
            read_document(staged, corpus, page_ocr(settings))  # as the update will: a file it cannot use stays out
        except SourceError as exc:
            return _refused(name, str(exc))
        target = corpus / target_name
        status = "added"
        if target.exists() or target.is_symlink():
            if target.is_file() and file_sha256(target) == file_sha256(staged):
                return Added(name, target_name, "unchanged")
            if not replace:
                return _refused(name, f"a different {target_name} is already in the corpus; remove it first, "
                                      "or choose to replace files of the same name")
            move_to_trash(corpus, target)
            status = "replaced"
        try:
            os.link(staged, target)  # never replaces a file that appeared meanwhile
        except FileExistsError:
            return _refused(name, f"{target_name} appeared in the corpus meanwhile; try again")
        return Added(name, target_name, status)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def add_files(settings: Settings, files: Iterable[tuple[str, Path]], *, replace: bool = False) -> list[Added]:
    """:func:`add_file` for each ``(name, path)``; two files given the same name: the first wins."""
    done: list[Added] = []
    for name, path in files:
        if any(a.ok and a.source == safe_name(name) for a in done):
            done.append(_refused(name, f"another file of this upload is named {safe_name(name)} too"))
        else:
            done.append(add_file(settings, name, path, replace=replace))
    return done


def move_to_trash(corpus: Path, path: Path) -> Path:
    """Move ``path`` (inside ``corpus``) to the same place under ``corpus/.trash/``, never over a
    file already there (``name (2).pdf`` then); returns where it went."""
    relative = path.relative_to(corpus)
    destination = corpus / TRASH / relative
    destination.parent.mkdir(parents=True, exist_ok=True)
    n = 1
    while destination.exists() or destination.is_symlink():
        n += 1
        destination = destination.with_name(f"{Path(relative.name).stem} ({n}){Path(relative.name).suffix}")
    os.rename(path, destination)
    return destination


def document_path(corpus: Path, source: str) -> Path:
    """The file of the document ``source`` (a path relative to ``corpus``), if it is one.

    Raises:
        ValueError: for a name that is not a document of the corpus: absolute, with ``..``, in a
            hidden folder (``.trash``), a folder, missing, or a link (or behind one) leading out of
            the corpus.
    """
    parts = PurePosixPath(source).parts if isinstance(source, str) else ()
    if not parts or source.startswith("/") or any(p in ("..", ".") or p.startswith(".") for p in parts):
        raise ValueError(f"{source!r} is not a document of the corpus")
    path = corpus.joinpath(*parts)
    try:
        inside = path.resolve(strict=True).is_relative_to(corpus.resolve())
    except (OSError, RuntimeError):  # missing, or a link loop
        inside = False
    if not inside or not path.is_file():
        raise ValueError(f"{source!r} is not a document of the corpus")
    return path


def remove_document(settings: Settings, source: str) -> Path:
    """Move the document ``source`` (a path relative to the corpus) into the corpus's trash.

    Returns:
        Where the file is now.

    Raises:
        ValueError: for a name that is not a document of the corpus (see :func:`document_path`).
    """
    return move_to_trash(settings.corpus_dir, document_path(settings.corpus_dir, source))

"""Keep the index in step with ``corpus/`` while it is edited: ``scoqa index watch``.

watchfiles reports file-system changes (inotify on Linux), grouped over a debounce window so
that an editor's save — often a write, a rename and a delete — triggers one update. Each update
is :func:`scoqa.index.build.update_index`, so it is incremental, atomic and locked like any other; a
running app or engine picks the new index up by itself (it reloads when the manifest changes).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..config import Settings
from ..ingest import discover
from . import build
from .errors import IndexProblem

#: Milliseconds of quiet after a change before the update starts (watchfiles' own default).
DEFAULT_DEBOUNCE_MS = 1600


@dataclass(frozen=True)
class WatchUpdate:
    """One update made by the watcher.

    Attributes:
        report: What the update did (``report.changed`` is False when nothing needed doing).
        paths: Corpus-relative paths whose change triggered it; empty for the update at start.
        error: Why the update failed, if it did (the watcher goes on).
        at: When it finished (``time.time()``).
    """

    report: build.BuildReport | None
    paths: tuple[str, ...] = ()
    error: str = ""
    at: float = 0.0

    def describe(self) -> str:
        """The one line ``scoqa index watch`` prints for this update."""
        when = time.strftime("%H:%M:%S", time.localtime(self.at))
        trigger = f" ({', '.join(self.paths)})" if self.paths else ""
        if self.error or self.report is None:
            return f"{when} update failed{trigger}: {self.error}"
        r = self.report
        if not r.changed:
            return f"{when} index is up to date: {r.chunks} passages from {r.files} file(s){trigger}"
        return (f"{when} updated{trigger}: {r.embedded} embedded, {r.reused} reused, {r.removed} removed; "
                f"{r.chunks} passages from {r.files} file(s) in {r.seconds:.1f}s")


class CorpusFilter:
    """watchfiles filter: changes inside the corpus that could matter to the index.

    Hidden files and folders (editor swap files, ``.git``) are ignored as the build ignores them,
    and so is the index itself should it live inside the corpus folder.
    """

    def __init__(self, corpus_dir: Path, index_dir: Path) -> None:
        self.corpus_dir = corpus_dir.resolve()
        self.index_dir = index_dir.resolve()

    def __call__(self, change: object, path: str) -> bool:
        """Whether a change at ``path`` should trigger an update."""
        target = Path(path)
        if target == self.index_dir or target.is_relative_to(self.index_dir):
            return False
        try:
            relative = target.relative_to(self.corpus_dir)
        except ValueError:
            return False
        return not any(part.startswith(".") for part in relative.parts)


def _update(settings: Settings, paths: tuple[str, ...]) -> WatchUpdate:
    try:
        report = build.update_index(settings)
    except (IndexProblem, FileNotFoundError, OSError, ValueError) as exc:
        return WatchUpdate(None, paths, str(exc), time.time())
    return WatchUpdate(report, paths, "", time.time())


def watch_updates(
    settings: Settings,
    *,
    stop_event: threading.Event | None = None,
    debounce_ms: int = DEFAULT_DEBOUNCE_MS,
) -> Iterator[WatchUpdate]:
    """Update the index now and after every change to the corpus, yielding each update.

    Updates that change neither the index nor the list of unreadable files (a touched file, an
    editor's temporary file) are not yielded, except the first one, which says the watcher is
    ready: changes made after it are never missed, because the file-system watch is already
    running when it is made.

    Args:
        settings: Corpus, index and model.
        stop_event: Set it to end the iteration (within about a tenth of a second when idle).
        debounce_ms: Milliseconds of quiet before an update starts.

    Yields:
        One :class:`WatchUpdate` per update.

    Raises:
        FileNotFoundError: if the corpus folder does not exist.
    """
    import watchfiles

    discover(settings.corpus_dir)  # a missing corpus fails here, with the usual message
    corpus = settings.corpus_dir.resolve()
    first = True
    problems: list[str] = []  # as last yielded: a new bad file is news even if the index is unchanged
    for changes in watchfiles.watch(
        corpus,
        watch_filter=CorpusFilter(corpus, settings.index_dir),
        debounce=debounce_ms,
        stop_event=stop_event,
        # Yield once the watch is set up, before any change, for the update at start.
        yield_on_timeout=True,
        rust_timeout=100,
    ):
        if not (first or changes):
            continue  # the watch's idle timeout: nothing happened
        paths = () if first else tuple(sorted({Path(p).relative_to(corpus).as_posix() for _, p in changes}))
        update = _update(settings, paths)
        news = first or update.report is None or update.report.changed or update.report.problems != problems
        first = False
        if update.report is not None:
            problems = update.report.problems
        if news:
            yield update

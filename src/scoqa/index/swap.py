"""Replacing an index folder atomically, and reading one whole build while that happens.

A build is written into a staging folder beside ``index/`` (:func:`staging_folder`) and swapped in
with one rename (``renameat2(RENAME_EXCHANGE)`` where the kernel has it, :func:`swap_in`), so a
reader never sees half an index and a build killed at any moment leaves the previous index in place.

Where the kernel or filesystem lacks ``RENAME_EXCHANGE`` the swap is two renames (``index/`` to
``.index.old-*``, then the new folder to ``index/``), done under a short swap lock
(``.index.swap.lock``). A build killed between the two leaves no ``index/`` but a complete
``.index.old-*``: the next load, status check or build puts that previous index back
(:func:`restore_previous`, under the same lock, so never in the middle of a running swap), and a
build's clean-up (:func:`remove_leftovers`) never deletes it. A reader that meets a swap retries
until it has read one whole build (:func:`read_one_build`). One build runs at a time
(:func:`build_lock`).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import glob
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from .errors import IndexCorrupt, IndexLocked, IndexNotFound, IndexProblem
from .files import CHUNKS, FAISS_FILE, MANIFEST, VECTORS, fsync, read_manifest, verify_files

log = logging.getLogger(__name__)

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths with renameat2(RENAME_EXCHANGE); False where unsupported."""
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return False
    libc = ctypes.CDLL(libc_name, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    result = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if result == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EXDEV, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def swap_in(staged: Path, target: Path) -> None:
    """Make ``staged`` the index at ``target`` in one step and delete the previous one.

    The renames happen under the swap lock, so that no reader or build restores a previous index
    (:func:`restore_previous`) in the middle of them.
    """
    previous: Path | None = None
    with _swap_lock(target):
        # Each branch makes the rename durable (fsync of the parent) before the old index goes.
        if not target.exists():
            os.replace(staged, target)
            fsync(target.parent)
        elif _exchange(staged, target):
            fsync(target.parent)
            previous = staged  # it now holds the old index
        else:
            # Fallback for filesystems without RENAME_EXCHANGE: two renames. Killed between them,
            # the previous index waits in `previous` for restore_previous.
            previous = target.with_name(f"{_sibling_prefix(target)}old-{os.getpid()}-{time.time_ns():x}")
            os.replace(target, previous)
            os.replace(staged, target)
            fsync(target.parent)
    if previous is not None:
        shutil.rmtree(previous, ignore_errors=True)


def _sibling_prefix(target: Path) -> str:
    """Prefix of the hidden folders a build puts beside ``target`` (``.index.tmp-*``, ``.index.old-*``)."""
    return f".{target.name}."


#: How long a reader waits for a swap in progress before it reads the previous index where it lies.
SWAP_LOCK_WAIT = 10.0


@contextlib.contextmanager
def _swap_lock(target: Path, wait: float | None = None) -> Iterator[bool]:
    """Hold the swap lock of ``target`` (``.NAME.swap.lock`` beside it), an flock that
    :func:`swap_in` holds only for its renames.

    Args:
        target: The index folder.
        wait: None (a writer): wait as long as needed, and fail if the lock file cannot be made.
            Seconds (a reader): give up after that long, or at once if the folder is read-only.

    Yields:
        Whether the lock is held.
    """
    import fcntl

    path = target.with_name(f"{_sibling_prefix(target)}swap.lock")
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        if wait is None:
            raise
        try:
            fd = os.open(path, os.O_RDONLY)  # a reader without write access can still wait on it
        except OSError:
            fd = -1
    if fd < 0:
        yield False
        return
    try:
        if wait is None:
            fcntl.flock(fd, fcntl.LOCK_EX)
            locked = True
        else:
            deadline = time.monotonic() + wait
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    locked = True
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        locked = False
                        break
                    time.sleep(0.01)
        yield locked
    finally:
        os.close(fd)  # closing releases the flock


def _old_folders(target: Path) -> list[Path]:
    """The ``.NAME.old-*`` folders beside ``target`` (previous indexes of fallback swaps)."""
    if not target.parent.is_dir():
        return []
    return [
        path for path in target.parent.glob(f"{glob.escape(_sibling_prefix(target))}old-*")
        if path.is_dir() and not path.is_symlink()
    ]


def _is_missing(target: Path) -> bool:
    """Whether there is no index folder at ``target`` at all (or only an empty folder)."""
    if not os.path.lexists(target):
        return True
    try:
        return target.is_dir() and not target.is_symlink() and not any(target.iterdir())
    except OSError:
        return False


def _complete_olds(target: Path) -> list[Path]:
    """The ``.NAME.old-*`` folders holding a whole index (a readable manifest whose files are all
    there with their recorded sizes), newest manifest first."""
    found: list[tuple[int, str, Path]] = []
    for path in _old_folders(target):
        try:
            manifest = read_manifest(path)
            verify_files(path, manifest)
            if not all((path / name).is_file() for name in (CHUNKS, VECTORS, FAISS_FILE)):
                continue
            found.append(((path / MANIFEST).stat().st_mtime_ns, path.name, path))
        except (IndexProblem, OSError):
            continue
    return [path for *_, path in sorted(found, reverse=True)]


def restore_previous(target: Path, wait: float = SWAP_LOCK_WAIT) -> Path | None:
    """Put the previous index back at ``target`` if a fallback swap was killed between its renames.

    Does nothing while ``target`` holds an index. Otherwise, under the swap lock (so never in the
    middle of a running swap), the newest complete ``.NAME.old-*`` folder is renamed to ``target``.

    Returns:
        The folder to read the index from: ``target`` if it holds one (now); the old folder itself
        where it cannot be moved (a read-only folder, or a swap lock held past ``wait``); None
        when there is no complete index to restore.
    """
    if not _is_missing(target):
        return target
    if not _old_folders(target):
        return None
    with _swap_lock(target, wait) as locked:
        if not _is_missing(target):  # a swap or another reader got there first
            return target
        olds = _complete_olds(target)
        if not olds:
            return None
        if locked:
            try:
                os.replace(olds[0], target)
            except OSError as exc:
                log.debug("could not restore %s to %s: %s", olds[0], target, exc)
            else:
                fsync(target.parent)
                log.warning("restored the previous index from %s: a build was interrupted while swapping "
                            "its index in", olds[0].name)
                return target
        return olds[0]


def remove_leftovers(target: Path) -> list[Path]:
    """Delete what killed builds left beside ``target``: staging (``.NAME.tmp-*``) and swap folders.

    A build killed in the middle of a fallback swap leaves no index at ``target`` but the previous
    one in a ``.NAME.old-*`` folder: that one is put back first (:func:`restore_previous`), and an
    ``old-*`` folder is never deleted while it is the only complete index.

    Only call this while holding :func:`build_lock`: then no other build is using them.

    Returns:
        The folders removed.
    """
    removed: list[Path] = []
    if not target.parent.is_dir():
        return removed
    restore_previous(target)
    keep_olds = _is_missing(target) and bool(_complete_olds(target))  # could not be put back
    for kind in ("tmp-", "old-"):
        if kind == "old-" and keep_olds:
            continue
        for path in target.parent.glob(f"{glob.escape(_sibling_prefix(target))}{kind}*"):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
    return removed


@contextlib.contextmanager
def staging_folder(target: Path) -> Iterator[Path]:
    """A fresh folder name beside ``target`` for a build, removed if the build fails."""
    target.parent.mkdir(parents=True, exist_ok=True)
    parent = tempfile.mkdtemp(prefix=f"{_sibling_prefix(target)}tmp-", dir=target.parent)
    staged = Path(parent) / "index"
    try:
        yield staged
    finally:
        shutil.rmtree(parent, ignore_errors=True)


_T = TypeVar("_T")


def read_one_build(folder: Path, read: Callable[[Path, dict[str, Any]], _T], attempts: int) -> _T:
    """Run ``read(source, manifest)`` on one whole build, retrying while a concurrent swap changes it.

    The build id is read before and after; a failure is only reported as damage if the build id
    did not change meanwhile (the files may have been swapped under the reader otherwise). Without
    an index at ``folder`` but with the previous one beside it (a fallback swap killed between its
    two renames), that one is put back and read (:func:`restore_previous`).
    """
    last_error: IndexProblem | FileNotFoundError | None = None
    for _ in range(attempts):
        build_id = None
        source = folder
        try:
            try:
                manifest = read_manifest(folder)
            except IndexNotFound:
                # Only the fallback swap (two renames) has a moment without an index: wait for a
                # swap under way, or put back the index a killed one left beside the folder.
                restored = restore_previous(folder)
                if restored is None:
                    raise
                source = restored
                manifest = read_manifest(source)
            build_id = manifest.get("build_id")
            result = read(source, manifest)
            if read_manifest(source).get("build_id") == build_id:
                return result
        except IndexNotFound as exc:
            swapping = bool(_old_folders(folder))
            if not (swapping or (folder / MANIFEST).is_file()):
                raise
            last_error = exc
        except (IndexCorrupt, FileNotFoundError) as exc:
            if build_id is None or _current_build_id(source) == build_id:
                raise
            last_error = exc
        time.sleep(0.05)
    if isinstance(last_error, IndexProblem):
        raise last_error
    raise IndexCorrupt(
        f"index at {str(folder)!r} kept changing while being read ({last_error})",
        "try again, or run `scoqa index build --force`",
    )


def _current_build_id(folder: Path) -> object:
    try:
        return read_manifest(folder).get("build_id")
    except IndexProblem:
        return None


# -- build lock --------------------------------------------------------------------------------
@contextlib.contextmanager
def build_lock(target: Path, wait: float | None = None) -> Iterator[None]:
    """Hold the build lock of ``target`` (a ``.NAME.lock`` file beside it, via filelock).

    Args:
        target: The index folder.
        wait: Seconds to wait for another build to finish; None waits as long as needed.

    Raises:
        IndexLocked: if the lock is still held after ``wait`` seconds.
    """
    from filelock import FileLock, Timeout

    target.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(target.with_name(f".{target.name}.lock"), timeout=-1 if wait is None else wait)
    # filelock truncates its file on every attempt, so the holder's pid sits beside it.
    holder_file = target.with_name(f".{target.name}.lock.pid")
    try:
        lock.acquire()
    except Timeout:
        try:
            holder = holder_file.read_text(encoding="utf-8").strip() or "another process"
        except OSError:
            holder = "another process"
        raise IndexLocked(
            f"another build of {str(target)!r} is running (pid {holder}); wait for it to "
            "finish, or run the command again later"
        ) from None
    try:
        holder_file.write_text(str(os.getpid()), encoding="utf-8")
        yield
    finally:
        lock.release()

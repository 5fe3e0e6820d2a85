"""What can be wrong with an index, whatever its backend; every message says what to run."""

from __future__ import annotations

#: The fix for a damaged or incompatible index.
REBUILD = "run `scoqa index build --force`"


class IndexProblem(Exception):
    """Base class of index problems; the message always says what to run.

    Attributes:
        reason: What is wrong.
        fix: What to run about it (may be empty).
    """

    def __init__(self, reason: str, fix: str = "") -> None:
        super().__init__(f"{reason}: {fix}" if fix else reason)
        self.reason = reason
        self.fix = fix


class IndexNotFound(IndexProblem, FileNotFoundError):
    """No index has been built at that location yet."""


class IndexMismatch(IndexProblem, ValueError):
    """The index was built with another model, dimension or format."""


class IndexCorrupt(IndexProblem, ValueError):
    """An index file is missing, truncated or unreadable."""


class IndexLocked(IndexProblem, RuntimeError):
    """Another process is building this index."""

"""The swap of a new index into place, killed at any instant, on both paths: `renameat2(RENAME_EXCHANGE)`
and the two-rename fallback (filesystems without it). Small fake indexes (random vectors), no model."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from scoqa.index import files, store, swap
from scoqa.ingest.chunk import Chunk
from scoqa.lexical import make_bm25

from .conftest import ROOT

DIM = 8


def fake_version(name: str, n: int, seed: int) -> tuple[dict, list[Chunk], np.ndarray, object]:
    """A small index's contents: ``n`` passages with random unit vectors (no model involved), and
    their BM25 retriever."""
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(n, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    chunks = [Chunk(id=f"{name}-{i}", source=f"{name}.md", section=name.title(), page=None, line_start=i + 1,
                    line_end=i + 1, kind="paragraph", text=f"Passage {i} of {name} about border security {seed}.",
                    context=f"{name.title()}\nPassage {i} of {name} about border security {seed}.")
              for i in range(n)]
    manifest = files.new_manifest(model="fake", dim=DIM, chunking={}, sources={f"{name}.md": f"{seed:064x}"},
                                  chunks=n, faiss_index="", problems=[])
    return manifest, chunks, vectors, make_bm25([c.context for c in chunks])


VERSIONS = {"old": fake_version("old", 3, 1), "new": fake_version("new", 5, 2)}


def which_version(index: store.Index) -> str:
    """The name of the version ``index`` holds, checking that it is that version whole."""
    matches = [name for name, (_, chunks, *_) in VERSIONS.items() if index.chunks == chunks]
    assert len(matches) == 1, [c.id for c in index.chunks]
    _, chunks, vectors, _ = VERSIONS[matches[0]]
    np.testing.assert_array_equal(index.vectors, vectors)
    assert index.dense.ntotal == len(chunks) == index.manifest["chunks"]
    return matches[0]


def beside(target: Path, kind: str) -> list[Path]:
    return sorted(target.parent.glob(f".{target.name}.{kind}-*"))


def folders(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.is_dir())


def save(target: Path, name: str) -> None:
    manifest, chunks, vectors, lexical = VERSIONS[name]
    store.save_index(target, {**manifest, "build_id": f"{time.time_ns():x}-{name}"}, chunks, vectors, lexical)


def kill_between_the_renames(target: Path) -> Path:
    """Leave ``target`` as a fallback swap killed between its two renames leaves it."""
    old = target.with_name(f".{target.name}.old-99999")
    os.replace(target, old)
    return old


# -- the moment between the two renames, made by hand --------------------------------------------
def test_a_reader_puts_back_the_previous_index_a_killed_swap_left_beside_the_folder(tmp_path) -> None:
    target = tmp_path / "index"
    save(target, "old")
    old_id = files.read_manifest(target)["build_id"]
    kill_between_the_renames(target)
    assert not target.exists()
    index = store.load_index(target)  # not IndexNotFound
    assert which_version(index) == "old" and index.build_id == old_id and index.path == target
    assert files.read_manifest(target)["build_id"] == old_id and beside(target, "old") == []


def test_the_status_check_puts_it_back_too(tmp_path) -> None:
    target = tmp_path / "index"
    save(target, "old")
    kill_between_the_renames(target)
    assert store.read_checked_manifest(target)["chunks"] == 3
    assert (target / files.MANIFEST).is_file() and beside(target, "old") == []


def test_a_build_restores_rather_than_deletes_the_only_complete_index(tmp_path) -> None:
    target = tmp_path / "index"
    save(target, "old")
    kill_between_the_renames(target)
    staged = tmp_path / ".index.tmp-abc" / "index"  # the new build the killed swap had staged
    files.write_index_files(staged, *VERSIONS["new"])
    with swap.build_lock(target):
        removed = swap.remove_leftovers(target)
    assert removed == [staged.parent]
    assert which_version(store.load_index(target)) == "old"
    assert folders(tmp_path) == ["index"]


def test_the_newest_complete_previous_index_is_the_one_put_back(tmp_path) -> None:
    target = tmp_path / "index"
    save(target, "new")
    older = kill_between_the_renames(target)
    os.utime(older / files.MANIFEST, (time.time() - 60, time.time() - 60))
    save(target, "old")
    newer = target.with_name(".index.old-12345")
    os.replace(target, newer)
    broken = target.with_name(".index.old-77777")  # newest, but half deleted: not a whole index
    files.write_index_files(broken, *VERSIONS["new"])
    (broken / files.VECTORS).unlink()
    assert which_version(store.load_index(target)) == "old"
    assert not newer.exists() and older.exists() and broken.exists()
    with swap.build_lock(target):
        swap.remove_leftovers(target)
    assert folders(tmp_path) == ["index"] and which_version(store.load_index(target)) == "old"


def test_without_a_complete_previous_index_it_is_still_not_found(tmp_path) -> None:
    target = tmp_path / "index"
    broken = target.with_name(".index.old-1")
    files.write_index_files(broken, *VERSIONS["old"])
    (broken / files.CHUNKS).write_text("", encoding="utf-8")  # truncated
    with pytest.raises(store.IndexNotFound, match="scoqa index build"):
        store.load_index(target, attempts=2)
    with swap.build_lock(target):
        swap.remove_leftovers(target)
    assert folders(tmp_path) == []


def test_a_read_only_folder_reads_the_previous_index_where_it_lies(tmp_path, monkeypatch) -> None:
    target = tmp_path / "index"
    save(target, "old")
    old = kill_between_the_renames(target)

    def refuse(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(swap.os, "replace", refuse)
    index = store.load_index(target)
    assert which_version(index) == "old" and index.path == old and not target.exists()
    with swap.build_lock(target):
        swap.remove_leftovers(target)  # cannot put it back, so must not delete it
    assert old.is_dir() and which_version(store.load_index(target)) == "old"


# -- SIGKILL at random instants inside save_index, in a subprocess ----------------------------------
#: Imports once, then for each "go" forks a worker that calls save_index in a loop (old and new
#: alternately, fresh build ids, under the build lock) and reports the worker's pid and how it ended.
FORK_SERVER = r"""
import json, os, sys, time
from pathlib import Path
import numpy as np
from scoqa.index import store, swap
from scoqa.ingest.chunk import Chunk
from scoqa.lexical import make_bm25

target, data, path = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
versions = []
for name in ("old", "new"):
    manifest = json.loads((data / f"{name}.json").read_text())
    chunks = [Chunk.from_dict(c) for c in manifest.pop("chunk_records")]
    versions.append((manifest, chunks, np.load(data / f"{name}.npy"), make_bm25([c.context for c in chunks])))
window = 0.0
if path == "two renames":
    swap._exchange = lambda a, b: False  # the fallback of filesystems without RENAME_EXCHANGE
    real_replace = os.replace

    def replace(src, dst):
        # Hold the instant between the two renames open a little, so random kills land in it.
        real_replace(src, dst)
        if str(dst).startswith(str(target.with_name("." + target.name + ".old-"))):
            time.sleep(window)

    os.replace = replace  # the module store uses

def save(n):
    manifest, chunks, vectors, lexical = versions[n % 2]
    store.save_index(target, {**manifest, "build_id": f"{time.time_ns():x}-{os.getpid()}-{n}"}, chunks, vectors, lexical)

started = time.perf_counter()
for n in range(4):
    save(n)
save_seconds = (time.perf_counter() - started) / 4
window = save_seconds / 3  # a quarter of each fallback save is then spent between the renames
print(json.dumps({"save_seconds": save_seconds + window}), flush=True)
for line in sys.stdin:
    first = int(line.split()[1])
    pid = os.fork()
    if pid == 0:
        try:
            with swap.build_lock(target):
                n = first
                while True:
                    save(n)
                    n += 1
        finally:
            os._exit(3)
    print(pid, flush=True)
    _, status = os.waitpid(pid, 0)
    print(json.dumps({"killed": os.WIFSIGNALED(status) and os.WTERMSIG(status) == 9, "status": status}), flush=True)
"""


@pytest.mark.timeout(120)
@pytest.mark.parametrize("path", ["renameat2", "two renames"])
def test_a_save_killed_at_random_instants_always_leaves_one_whole_index(tmp_path, path) -> None:
    kills = 32
    data = tmp_path / "versions"
    data.mkdir()
    for name, (manifest, chunks, vectors, _) in VERSIONS.items():
        (data / f"{name}.json").write_text(json.dumps({**manifest, "chunk_records": [c.to_dict() for c in chunks]}))
        np.save(data / f"{name}.npy", vectors)
    target = tmp_path / "shared" / "index"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCOQA_")}
    env |= {"PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1"}
    server = subprocess.Popen([sys.executable, "-c", FORK_SERVER, str(target), str(data), path], env=env,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    rng = random.Random()
    seen: dict[str, int] = {"missing": 0, "unchanged": 0, "changed": 0, "staged left": 0}
    try:
        line = server.stdout.readline()
        assert line, server.stderr.read()
        save_seconds = json.loads(line)["save_seconds"]
        for round_ in range(kills):
            before = which_version(store.load_index(target))
            server.stdin.write(f"go {rng.randrange(2)}\n")
            server.stdin.flush()
            pid = int(server.stdout.readline())
            time.sleep(rng.uniform(0.0, 3 * save_seconds))
            os.kill(pid, signal.SIGKILL)
            ended = json.loads(server.stdout.readline())
            assert ended["killed"], ended

            missing = not target.exists()
            olds = beside(target, "old")
            seen["missing"] += missing
            seen["staged left"] += bool(beside(target, "tmp"))
            if missing:  # killed between the two renames: the previous index waits beside the folder
                assert path == "two renames" and len(olds) == 1
                expected = json.loads((olds[0] / files.MANIFEST).read_text())["build_id"]
            if round_ % 2 == 0:  # a reader comes first
                assert store.read_checked_manifest(target)["chunks"] in (3, 5)
                which_version(store.load_index(target))
            else:  # a build comes first
                with swap.build_lock(target, wait=10):
                    swap.remove_leftovers(target)
            index = store.load_index(target)
            now = which_version(index)
            if missing:
                assert index.build_id == expected  # the previous index, put back
            seen["unchanged" if now == before else "changed"] += 1
            with swap.build_lock(target, wait=10):
                swap.remove_leftovers(target)
            assert folders(target.parent) == ["index"], round_  # exactly one index, nothing else
            assert which_version(store.load_index(target)) == now
    finally:
        server.stdin.close()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    print(path, f"save {save_seconds * 1000:.0f} ms", seen)
    # The kills landed at different instants: while writing, and (fallback) between the renames.
    assert seen["staged left"] >= 2 and seen["unchanged"] >= 2 and seen["changed"] >= 2, seen
    if path == "two renames":
        assert seen["missing"] >= 1, seen


# -- readers in another process while a writer re-saves with fresh build ids --------------------------
WRITER = r"""
import json, os, sys, time
from pathlib import Path
import numpy as np
from scoqa.index import store, swap
from scoqa.ingest.chunk import Chunk
from scoqa.lexical import make_bm25

target, data, path, seconds = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], float(sys.argv[4])
versions = []
for name in ("old", "new"):
    manifest = json.loads((data / f"{name}.json").read_text())
    chunks = [Chunk.from_dict(c) for c in manifest.pop("chunk_records")]
    versions.append((manifest, chunks, np.load(data / f"{name}.npy"), make_bm25([c.context for c in chunks])))
if path == "two renames":
    swap._exchange = lambda a, b: False
    real_replace = os.replace

    def replace(src, dst):
        real_replace(src, dst)
        if str(dst).startswith(str(target.with_name("." + target.name + ".old-"))):
            time.sleep(0.01)  # readers arriving now find no index: they must wait, not restore

    os.replace = replace
n, deadline = 0, time.monotonic() + seconds
while time.monotonic() < deadline:
    manifest, chunks, vectors, lexical = versions[n % 2]
    store.save_index(target, {**manifest, "build_id": f"{time.time_ns():x}-{os.getpid()}-{n}"}, chunks, vectors, lexical)
    n += 1
    time.sleep(0.02)
print(n)
"""


def write_versions(folder: Path) -> Path:
    folder.mkdir()
    for name, (manifest, chunks, vectors, _) in VERSIONS.items():
        (folder / f"{name}.json").write_text(json.dumps({**manifest, "chunk_records": [c.to_dict() for c in chunks]}))
        np.save(folder / f"{name}.npy", vectors)
    return folder


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCOQA_")}
    return env | {"PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
                  "MKL_NUM_THREADS": "1"}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("path", ["renameat2", "two renames"])
def test_readers_in_another_process_never_see_a_false_damaged_index(tmp_path, path) -> None:
    target = tmp_path / "shared" / "index"
    save(target, "old")
    data = write_versions(tmp_path / "versions")
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(target), str(data), path, "6"], env=child_env(),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen: dict[str, int] = {"old": 0, "new": 0}
    build_ids: set[str] = set()
    errors: list[str] = []
    try:
        while writer.poll() is None:
            try:
                assert store.read_checked_manifest(target)["chunks"] in (3, 5)
                index = store.load_index(target)
                seen[which_version(index)] += 1
                build_ids.add(index.build_id)
            except Exception as exc:  # noqa: BLE001 - every failure is reported below
                errors.append(f"{type(exc).__name__}: {exc}")
        out, err = writer.communicate(timeout=30)
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()
    assert writer.returncode == 0, err
    saves = int(out)
    print(path, f"{saves} saves", seen, f"{len(build_ids)} build ids")
    assert not errors, (len(errors), errors[:3])
    assert saves >= 10 and seen["old"] and seen["new"] and len(build_ids) >= 5
    assert beside(target, "old") == [] and which_version(store.load_index(target))

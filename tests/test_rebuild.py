"""Rebuilding the index when sources change: status, incremental update, atomic swap, lock, watch."""

from __future__ import annotations

import fcntl
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from scoqa import ask, retrieve
from scoqa.config import Settings
from scoqa.engine import Engine, StaleIndexWarning
from scoqa.index import build, files, store, swap
from scoqa.index import status as corpus_status
from scoqa.index.build import build_index, update_index
from scoqa.index.status import index_status
from scoqa.index.tokens import TokenVectors
from scoqa.index.watch import watch_updates

from .conftest import ROOT
from .index_helpers import TEXTS, cli, cli_json, lines_naming, make_settings, write

SRC = str(ROOT / "src")


def subprocess_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCOQA_")}
    return env | {"SCOQA_CORPUS": str(settings.corpus_dir), "SCOQA_INDEX": str(settings.index_dir),
                  "PYTHONPATH": SRC}


def manifest(settings: Settings) -> dict:
    return json.loads((settings.index_dir / files.MANIFEST).read_text(encoding="utf-8"))


def leftovers(settings: Settings) -> list[Path]:
    return sorted(settings.index_dir.parent.glob(f".{settings.index_dir.name}.tmp-*"))


# -- status and update ---------------------------------------------------------------------------
def test_status_finds_added_changed_and_removed_files_by_content(tmp_path, capsys) -> None:
    settings = make_settings(tmp_path)
    build_index(settings)
    fresh = cli_json(capsys, settings, "index", "status")
    assert fresh["stale"] is False and fresh["added"] == fresh["changed"] == fresh["removed"] == []

    alpha = settings.corpus_dir / "alpha.md"
    os.utime(alpha, (time.time() + 60, time.time() + 60))  # touched, same bytes: not a change
    write(settings.corpus_dir, "beta.md", TEXTS["beta.md"].replace("2007", "2010"))
    (settings.corpus_dir / "gamma.txt").unlink()
    write(settings.corpus_dir, "sub/delta.md", "# Delta\n\nThe SCO summit of 2019 met in Bishkek.\n")

    status = cli_json(capsys, settings, "index", "status")
    assert {"stale", "added", "changed", "removed", "chunks"} <= set(status)
    assert status["stale"] is True
    assert (status["added"], status["changed"], status["removed"]) == (["sub/delta.md"], ["beta.md"], ["gamma.txt"])
    assert status["chunks"] == 3
    code, out, _ = cli(capsys, settings, "index", "status")
    assert code == 0 and "STALE" in out
    assert "  added    sub/delta.md" in out and "  changed  beta.md" in out and "  removed  gamma.txt" in out
    # alpha.md (touched, same bytes) is listed only with its passages, never as a change.
    assert [line.split() for line in lines_naming(out, "alpha.md")] == [["1", "passages", "alpha.md"]]


def test_update_embeds_only_the_passages_that_changed(tmp_path, capsys) -> None:
    settings = make_settings(tmp_path, {
        **TEXTS,
        "two.md": "# One\n\nThe Shanghai Five met first in 1996.\n\n# Two\n\nUzbekistan joined in June 2001.\n",
    })
    first = cli_json(capsys, settings, "index", "update")
    assert (first["embedded"], first["reused"], first["removed"], first["chunks"]) == (5, 0, 0, 5)
    before = store.load_index(settings.index_dir)

    write(settings.corpus_dir, "beta.md", TEXTS["beta.md"].replace("Chelyabinsk", "Urumqi"))  # 1 passage
    write(settings.corpus_dir, "two.md", "# One\n\nThe Shanghai Five met first in 1996.\n\n"
                                         "# Two\n\nUzbekistan joined in June 2001 as the sixth member.\n")
    (settings.corpus_dir / "gamma.txt").unlink()
    write(settings.corpus_dir, "delta.md", "# Delta\n\nThe SCO summit of 2019 met in Bishkek.\n")

    result = cli_json(capsys, settings, "index", "update")
    # beta, two's second section and delta are new; alpha and two's first section are reused;
    # the old beta, old "Two" and gamma are gone.
    assert {k: result[k] for k in ("embedded", "reused", "removed", "chunks")} == {
        "embedded": 3, "reused": 2, "removed": 3, "chunks": 5}

    after = store.load_index(settings.index_dir)
    old_rows = {c.context: before.vectors[i] for i, c in enumerate(before.chunks)}
    alpha = next(i for i, c in enumerate(after.chunks) if c.source == "alpha.md")
    np.testing.assert_array_equal(after.vectors[alpha], old_rows[after.chunks[alpha].context])
    # Its word-piece vectors (late interaction) came along; every passage has its own.
    before_tokens, after_tokens = TokenVectors(**before.tokens), TokenVectors(**after.tokens)
    old_tokens = {c.context: before_tokens.of(i) for i, c in enumerate(before.chunks)}
    np.testing.assert_array_equal(after_tokens.of(alpha), old_tokens[after.chunks[alpha].context])
    assert after_tokens.first.size == len(after.chunks) + 1 and all(len(after_tokens.of(i)) for i in range(5))
    assert {c.source for c in after.chunks} == {"alpha.md", "beta.md", "two.md", "delta.md"}
    # The lexical index moved in step: the new words are found, the removed ones are not.
    searcher = Engine(settings).searcher()
    assert searcher.search("Urumqi", 1, "bm25")[0].source == "beta.md"
    assert searcher.search("Bishkek", 1, "bm25")[0].source == "delta.md"
    assert searcher.search("Beslan", 1, "bm25") == [] and searcher.search("Chelyabinsk", 1, "bm25") == []

    again = cli_json(capsys, settings, "index", "update")
    assert (again["embedded"], again["reused"], again["removed"], again["changed"]) == (0, 5, 0, False)
    assert manifest(settings)["build_id"] == after.build_id  # nothing was written


def test_build_force_embeds_everything_again(tmp_path, capsys) -> None:
    settings = make_settings(tmp_path)
    build_index(settings)
    old_id = manifest(settings)["build_id"]
    report = cli_json(capsys, settings, "index", "build", "--force")
    assert (report["embedded"], report["reused"], report["removed"], report["chunks"]) == (3, 0, 0, 3)
    assert manifest(settings)["build_id"] != old_id
    code, out, _ = cli(capsys, settings, "index", "build")
    assert code == 0 and "up to date" in out


# -- atomic and safe -----------------------------------------------------------------------------
def read_until(stream, needle: bytes, timeout: float) -> bytes:
    """Read a pipe until ``needle`` appears (tqdm writes with \\r, so not line by line)."""
    seen = b""
    deadline = time.monotonic() + timeout
    os.set_blocking(stream.fileno(), False)
    try:
        while needle not in seen:
            if time.monotonic() > deadline:
                raise AssertionError(f"{needle!r} not seen in {timeout}s; got {seen[-500:]!r}")
            chunk = stream.read(65536)
            if chunk:
                seen += chunk
            else:
                time.sleep(0.05)
    finally:
        os.set_blocking(stream.fileno(), True)
    return seen


def test_build_killed_while_embedding_leaves_the_old_index_answering(tmp_path) -> None:
    settings = make_settings(tmp_path)
    build_index(settings)
    old = store.load_index(settings.index_dir)
    for n in range(40):  # 160 passages: embedding takes far longer than the kill needs
        write(settings.corpus_dir, f"bulk/part{n:02}.md", "".join(
            f"# Part {n} section {s}\n\nDelegation {n}-{s} discussed border security and customs data.\n\n"
            for s in range(4)))
    process = subprocess.Popen([sys.executable, "-m", "scoqa.interfaces.cli", "index", "build", "--force"], cwd=tmp_path,
                               env=subprocess_env(settings), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        read_until(process.stderr, b"embedding passages", timeout=120)
        process.send_signal(signal.SIGKILL)
        assert process.wait(timeout=30) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    after = store.load_index(settings.index_dir)
    assert after.build_id == old.build_id and after.chunks == old.chunks
    with pytest.warns(StaleIndexWarning, match=r"added: bulk/part00\.md, .* and 35 more"):
        hit = Engine(settings).retrieve("Where is the RATS located?", k=1)[0]
    assert "Tashkent" in hit.text
    status = index_status(settings)
    assert status.stale and len(status.added) == 40


# Each stage is a point inside store.save_index where the writing process dies.
KILL_AT = {
    "chunks written": "files.np.save = die",
    "faiss written": "new.lexical.save = die",
    "manifest written": "files.fsync_tree = die",
    "before swap": "swap.swap_in = die",
    "after swap": "swap.shutil.rmtree = die",
    # The fallback of filesystems without RENAME_EXCHANGE, killed between its two renames: no
    # index/ is left, only the previous one in .index.old-*, which the next load or build restores.
    "between the two renames": (
        "swap._exchange = lambda a, b: False\n"
        "replace = swap.os.replace\n"
        "swap.os.replace = lambda a, b: (replace(a, b), '.old-' in str(b) and die())"
    ),
}
KILL_SCRIPT = """
import os, signal, sys
from pathlib import Path
from scoqa.index import files, store, swap
def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)
new = store.load_index(Path(sys.argv[2]))
{patch}
with swap.build_lock(Path(sys.argv[1])):
    store.save_index(Path(sys.argv[1]), new.manifest, new.chunks, new.vectors, new.lexical)
"""


def test_a_save_killed_at_any_step_leaves_one_whole_index_and_the_next_build_cleans_up(tmp_path) -> None:
    old_settings = make_settings(tmp_path / "old", {"alpha.md": TEXTS["alpha.md"]})
    build_index(old_settings)
    new_settings = make_settings(tmp_path / "new", {"delta.md": "# Delta\n\nThe 2019 summit met in Bishkek.\n"})
    build_index(new_settings)
    old_id, new_id = manifest(old_settings)["build_id"], manifest(new_settings)["build_id"]
    targets = {}
    for n, (stage, patch) in enumerate(KILL_AT.items()):
        target = tmp_path / f"stage{n}" / "index"
        shutil.copytree(old_settings.index_dir, target)
        script = KILL_SCRIPT.format(patch=patch)
        command = [sys.executable, "-c", script, str(target), str(new_settings.index_dir)]
        targets[stage] = (target, subprocess.Popen(command, env=subprocess_env(old_settings), stderr=subprocess.PIPE))
    for stage, (target, process) in targets.items():
        _, err = process.communicate(timeout=120)
        assert process.returncode == -signal.SIGKILL, (stage, err.decode())
        loaded = store.load_index(target)
        expected = new_id if stage == "after swap" else old_id
        assert loaded.build_id == expected, stage
        assert loaded.chunks == store.load_index(new_settings.index_dir if expected == new_id
                                                 else old_settings.index_dir).chunks
        assert len(list(target.parent.glob(".index.tmp-*"))) == 1, stage  # what the killed build left
        settings = Settings(corpus_dir=(new_settings if expected == new_id else old_settings).corpus_dir,
                            index_dir=target)
        report = update_index(settings)
        assert report.changed is False, stage  # the index that survived is whole and current
        assert list(target.parent.glob(".index.tmp-*")) == [], stage
        assert list(target.parent.glob(".index.old-*")) == [], stage
    # Killed between the renames, there is no index/ at all until a reader or a build puts the old one back.
    target = tmp_path / "stage-build" / "index"
    shutil.copytree(old_settings.index_dir, target)
    script = KILL_SCRIPT.format(patch=KILL_AT["between the two renames"])
    process = subprocess.run([sys.executable, "-c", script, str(target), str(new_settings.index_dir)],
                             env=subprocess_env(old_settings), capture_output=True, timeout=120)
    assert process.returncode == -signal.SIGKILL, process.stderr.decode()
    assert not target.exists() and len(list(target.parent.glob(".index.old-*"))) == 1
    report = update_index(Settings(corpus_dir=old_settings.corpus_dir, index_dir=target))  # a build comes first
    assert report.changed is False
    assert json.loads((target / files.MANIFEST).read_text(encoding="utf-8"))["build_id"] == old_id
    assert sorted(p.name for p in target.parent.iterdir() if p.is_dir()) == ["index"]


@pytest.mark.parametrize("swap_path", ["renameat2", "two renames"])
def test_readers_never_see_half_an_index(tmp_path, monkeypatch, swap_path) -> None:
    if swap_path == "two renames":  # the fallback for filesystems without RENAME_EXCHANGE
        monkeypatch.setattr(swap, "_exchange", lambda a, b: False)
    a = make_settings(tmp_path / "a", {"alpha.md": TEXTS["alpha.md"]})
    b = make_settings(tmp_path / "b", TEXTS)
    build_index(a)
    build_index(b)
    versions = {len(store.load_index(s.index_dir).chunks): store.load_index(s.index_dir) for s in (a, b)}
    target = tmp_path / "shared" / "index"
    store.save_index(target, versions[1].manifest, versions[1].chunks, versions[1].vectors, versions[1].lexical)
    stop = threading.Event()
    seen: list[int] = []
    errors: list[BaseException] = []

    def reader() -> None:
        while not stop.is_set():
            try:
                assert store.read_checked_manifest(target)["chunks"] in versions  # what status reads
                index = store.load_index(target)
                assert index.chunks == versions[len(index.chunks)].chunks
                assert index.dense.ntotal == len(index.chunks) == len(index.vectors)
                seen.append(len(index.chunks))
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
                return

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        # At least 12 swaps, and on a busy machine more, until the reader has loaded both versions.
        swaps, deadline = 0, time.monotonic() + 60
        while not errors and (swaps < 12 or (set(seen) != {1, 3} and time.monotonic() < deadline)):
            version = versions[3 if swaps % 2 == 0 else 1]
            store.save_index(target, version.manifest, version.chunks, version.vectors, version.lexical)
            swaps += 1
            time.sleep(0.01)  # let the reader run between swaps
    finally:
        stop.set()
        thread.join(30)
    assert not errors, errors[0]
    assert set(seen) == {1, 3}


def test_a_second_build_waits_for_the_first_or_says_why_it_gave_up(tmp_path, monkeypatch) -> None:
    settings = make_settings(tmp_path)
    build_index(settings)
    with swap.build_lock(settings.index_dir):
        refused = subprocess.run([sys.executable, "-m", "scoqa.interfaces.cli", "index", "update", "--wait", "0.5"],
                                 env=subprocess_env(settings), capture_output=True, text=True, timeout=120)
        assert refused.returncode == 2 and "Traceback" not in refused.stderr
        assert f"another build of '{settings.index_dir}' is running (pid {os.getpid()})" in refused.stderr
        done: list[build.BuildReport] = []
        waiting = threading.Thread(target=lambda: done.append(update_index(settings)))
        queued = threading.Event()  # set when the update has tried the lock and found it held
        real_flock = fcntl.flock

        def flock(fd: int, operation: int) -> None:
            try:
                real_flock(fd, operation)
            except BlockingIOError:
                if threading.current_thread() is waiting:
                    queued.set()
                raise

        monkeypatch.setattr(fcntl, "flock", flock)
        waiting.start()
        deadline = time.monotonic() + 60
        while not queued.wait(0.05) and waiting.is_alive() and time.monotonic() < deadline:
            pass
        assert queued.is_set(), "the update did not wait for the lock"
        assert waiting.is_alive() and not done  # queued behind the lock, and still there
    waiting.join(60)
    assert done and done[0].changed is False


# -- stale-aware at load -------------------------------------------------------------------------
def test_engine_warns_about_corpus_changes_made_after_it_started(tmp_path) -> None:
    settings = make_settings(tmp_path)
    build_index(settings)
    engine = Engine(settings, corpus_check_interval=0)
    assert "Tashkent" in engine.retrieve("Where is the RATS located?", k=1)[0].text and not engine.warnings
    write(settings.corpus_dir, "alpha.md", TEXTS["alpha.md"].replace("Tashkent, Uzbekistan", "Bishkek, Kyrgyzstan"))
    with pytest.warns(StaleIndexWarning, match=r"changed: alpha\.md.*scoqa index update"):
        hit = engine.retrieve("Where is the RATS located?", k=1)[0]
    assert "Tashkent" in hit.text  # the old index still answers
    assert engine.warnings and "alpha.md" in engine.warnings[0]


def test_retrieve_and_ask_update_a_stale_index_when_auto_update_is_on(tmp_path, monkeypatch) -> None:
    settings = make_settings(tmp_path)
    build_index(settings)
    assert Settings.from_env().auto_update is False  # the API and CLI default: warn only
    monkeypatch.setenv("SCOQA_AUTO_UPDATE", "1")
    env_settings = Settings.from_env(corpus_dir=settings.corpus_dir, index_dir=settings.index_dir)
    assert env_settings.auto_update is True
    write(settings.corpus_dir, "delta.md", "# Delta\n\nThe SCO summit of 2019 met in Bishkek, Kyrgyzstan.\n")
    assert retrieve("Where did the 2019 summit meet?", k=1, settings=env_settings)[0].source == "delta.md"
    assert "delta.md" in manifest(settings)["sources"]

    engine = Engine(env_settings, corpus_check_interval=0)
    engine.retrieve("summit", k=1)
    write(settings.corpus_dir, "epsilon.md", "# Epsilon\n\nThe Tianshan-2 exercise took place in 2006.\n")
    assert engine.retrieve("Tianshan-2 exercise", k=1)[0].source == "epsilon.md"
    reply = ask("When did the Tianshan-2 exercise take place?", settings=env_settings)
    assert reply.sources[0].source == "epsilon.md"


def test_a_long_running_engine_hashes_the_corpus_only_when_a_file_moved(tmp_path, monkeypatch) -> None:
    settings = make_settings(tmp_path)
    build_index(settings)
    engine = Engine(settings, corpus_check_interval=0)
    engine.retrieve("RATS", k=1)
    calls: list[Settings] = []
    real = corpus_status.index_status
    monkeypatch.setattr(corpus_status, "index_status", lambda s=None: calls.append(s) or real(s))
    for _ in range(3):
        engine.retrieve("RATS", k=1)
    assert calls == []  # only a stat of each file
    later = time.time() + 5
    os.utime(settings.corpus_dir / "beta.md", (later, later))
    engine.retrieve("RATS", k=1)
    assert len(calls) == 1 and not engine.warnings  # hashed, found the same bytes: not stale
    slow = Engine(settings, corpus_check_interval=3600)
    slow.retrieve("RATS", k=1)
    calls.clear()
    os.utime(settings.corpus_dir / "beta.md", (later + 5, later + 5))
    slow.retrieve("RATS", k=1)
    assert calls == []  # within the interval nothing is looked at


@pytest.mark.parametrize("edit, message", [
    ("model", r"built with model 'all-MiniLM-L6-v2'.*run `scoqa index build --force` to rebuild with 'other-model'"),
    ("format_version", rf"format version 99, this scoqa .* reads version {files.FORMAT_VERSION}: "
                       r"run `scoqa index build --force`"),
], ids=["model", "format_version"])
def test_an_index_of_another_model_or_format_is_refused_with_what_to_run(tmp_path, capsys, edit, message) -> None:
    settings = make_settings(tmp_path)
    build_index(settings)
    if edit == "model":
        settings_now = settings.with_(model="other-model")
    else:
        settings_now = settings
        data = manifest(settings) | {"format_version": 99}
        (settings.index_dir / files.MANIFEST).write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(store.IndexMismatch, match=message):
        Engine(settings_now).retrieve("RATS", k=1)
    with pytest.raises(store.IndexMismatch, match=message):
        update_index(settings_now)  # never replaced behind the user's back
    assert index_status(settings_now).note and "build --force" in index_status(settings_now).note
    code, _, err = cli(capsys, settings, *(["--model", "other-model"] if edit == "model" else []), "search", "RATS")
    assert code == 2 and "build --force" in err and "Traceback" not in err
    if edit == "format_version":  # the fix works
        assert cli(capsys, settings, "index", "build", "--force")[0] == 0
        assert "Tashkent" in Engine(settings).retrieve("Where is the RATS located?", k=1)[0].text


def test_an_index_an_earlier_scoqa_wrote_is_rebuilt_by_a_build_or_an_update(tmp_path, capsys) -> None:
    # After an upgrade, `make run` (`scoqa index build`) must get going again without --force.
    settings = make_settings(tmp_path)
    build_index(settings)
    data = manifest(settings) | {"format_version": files.FORMAT_VERSION - 1}
    (settings.index_dir / files.MANIFEST).write_text(json.dumps(data), encoding="utf-8")
    code, out, err = cli(capsys, settings, "index", "build")
    assert code == 0 and "written by an earlier scoqa" in err and "indexed 3 passages" in out, (out, err)
    assert manifest(settings)["format_version"] == files.FORMAT_VERSION
    assert "Tashkent" in Engine(settings).retrieve("Where is the RATS located?", k=1)[0].text


def test_an_index_of_another_dimension_is_refused(tmp_path, monkeypatch) -> None:
    settings = make_settings(tmp_path)
    build_index(settings)

    class WiderModel:
        dim = 512

    monkeypatch.setattr("scoqa.engine.embedder_for", lambda settings: WiderModel())
    with pytest.raises(store.IndexMismatch, match=r"dimension 384, but the model .* gives dimension 512: run "
                                                  r"`scoqa index build --force`"):
        Engine(settings).searcher()


# -- watch ---------------------------------------------------------------------------------------
def test_watch_updates_after_an_edit_and_a_running_engine_picks_it_up(tmp_path) -> None:
    settings = make_settings(tmp_path)
    build_index(settings)
    engine = Engine(settings, corpus_check_interval=3600)  # only the manifest reload can help it
    assert "Tashkent" in engine.retrieve("Where is the RATS located?", k=1)[0].text
    stop = threading.Event()
    updates: queue.Queue = queue.Queue()

    def run() -> None:
        for update in watch_updates(settings, stop_event=stop, debounce_ms=100):
            updates.put(update)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        ready = updates.get(timeout=60)
        assert ready.paths == () and ready.report.changed is False and "up to date" in ready.describe()
        write(settings.corpus_dir, "alpha.md", TEXTS["alpha.md"].replace("Tashkent, Uzbekistan", "Bishkek, Kyrgyzstan"))
        update = updates.get(timeout=60)
        assert update.paths == ("alpha.md",) and not update.error
        assert (update.report.embedded, update.report.reused, update.report.removed) == (1, 2, 1)
        assert "updated (alpha.md): 1 embedded, 2 reused, 1 removed" in update.describe()
        assert "Bishkek" in engine.retrieve("Where is the RATS located?", k=1)[0].text
        (settings.corpus_dir / "notes.txt").write_bytes(b"")  # a new bad file is news, though nothing changed
        bad = updates.get(timeout=60)
        assert bad.paths == ("notes.txt",) and bad.report.changed is False
        assert bad.report.problems == ["skipped notes.txt: file is empty"]
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()


def test_watch_command_prints_its_state_and_stops_cleanly_on_ctrl_c(tmp_path) -> None:
    settings = make_settings(tmp_path)
    build_index(settings)
    # Ctrl-C as a terminal sends it: a suite started in the background (`make test &`, nohup, some CI
    # runners) ignores SIGINT, and a child inherits that, so the watcher would rightly not stop.
    process = subprocess.Popen([sys.executable, "-m", "scoqa.interfaces.cli", "index", "watch", "--debounce", "100"],
                               env=subprocess_env(settings), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        seen = read_until(process.stdout, b"index is up to date: 3 passages from 3 file(s)", timeout=120)
        assert b"watching " in seen
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    assert b"stopped watching" in out and b"Traceback" not in err


def test_a_stale_reading_says_what_changed_in_words() -> None:
    from scoqa.index.status import chunking_note, chunking_params

    settings = Settings()
    params = chunking_params(settings)
    assert chunking_note({"chunking": params}, settings) == ""
    assert chunking_note({"chunking": {**params, "ingest_version": 1}}, settings) == \
        "the documents were read by an earlier version of scoqa's readers"
    assert chunking_note({"chunking": {**params, "chunk_tokens": 300}}, settings) == \
        f"the index was cut into passages with other settings (chunk_tokens 300 -> {params['chunk_tokens']})"


@pytest.mark.parametrize("edit", [{"format_version": files.FORMAT_VERSION - 1}, {"format_version": 99},
                                  {"model": "other-model"}], ids=["older-format", "newer-format", "other-model"])
def test_eval_rebuilds_its_own_index_of_a_corpus_whoever_wrote_it(tmp_path, capsys, monkeypatch, edit) -> None:
    """`scoqa eval --corpus DIR` keeps an index of its own in the temporary folder: one that an
    earlier (or later) scoqa or another model wrote is nobody else's, so it is rebuilt, not refused."""
    import tempfile

    from scoqa.interfaces.cli import main

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    settings = make_settings(tmp_path)
    data = tmp_path / "set"
    data.mkdir()
    (data / "qa.jsonl").write_text(json.dumps({"q": "Where is the RATS located?", "gold": ["located in Tashkent"],
                                               "answer": ["Tashkent"], "doc": "alpha.md"}) + "\n", encoding="utf-8")
    args = ["--corpus", str(settings.corpus_dir), "eval", "--data", str(data), "--retrieval-only", "--json"]
    assert main(args) == 0
    capsys.readouterr()
    own = next((tmp_path / "tmp" / "scoqa-eval").glob("*/index"))
    written = json.loads((own / files.MANIFEST).read_text(encoding="utf-8"))
    (own / files.MANIFEST).write_text(json.dumps(written | edit), encoding="utf-8")
    assert main(args) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["retrieval"][0]["recall_at_1"] == 1.0 and "Traceback" not in err
    rebuilt = json.loads((own / files.MANIFEST).read_text(encoding="utf-8"))
    assert rebuilt["format_version"] == files.FORMAT_VERSION and rebuilt["model"] == written["model"]

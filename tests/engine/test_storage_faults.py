"""A full or read-only disk, for real: a small tmpfs mounted for each test (needs root and mount); and
files the user may not read or write, in a process the kernel treats as an ordinary user."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from engine import index as index_dir
from engine.build import add_to_index, build_index
from engine.encoder import Encoder
from engine.errors import EngineError
from engine.index import open_index
from tests.service_runs import corpus_records, write_corpus


def _mount(target, *options):
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", ",".join(options), "tmpfs", str(target)],
                            capture_output=True, text=True)
    return result.returncode == 0, result.stderr.strip()


@pytest.fixture
def small_disk(tmp_path):
    """A 1 MB tmpfs; unmounted by the test's end."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs for the disk-full tests needs root")
    target = tmp_path / "disk"
    target.mkdir()
    mounted, why = _mount(target, "size=1m")
    if not mounted:
        pytest.skip(f"cannot mount a tmpfs here ({why})")
    yield target
    subprocess.run(["umount", "-l", str(target)], check=True)


def _corpus(path, count, start=0, words=20):
    with open(path, "w", encoding="utf-8") as handle:
        for number in range(start, start + count):
            handle.write(json.dumps({"id": f"d{number}", "text": f"passage {number} " + "word " * words}) + "\n")
    return path


@pytest.fixture
def encoder(tiny_bundle):
    return Encoder(tiny_bundle, variant="fp32")


def test_full_disk_is_found_before_encoding_and_keeps_the_old_index(small_disk, tmp_path, encoder, monkeypatch):
    build_index(_corpus(tmp_path / "small.jsonl", 20), encoder, small_disk / "index", quiet=True)
    encoded = []
    monkeypatch.setattr(encoder, "encode_passages", lambda *a, **k: encoded.append(1))
    big = _corpus(tmp_path / "big.jsonl", 20_000)
    with pytest.raises(EngineError, match="not enough disk space beside .*index: the new version needs at least"):
        build_index(big, encoder, small_disk / "index", overwrite=True, quiet=True)
    with pytest.raises(EngineError, match="not enough disk space"):
        add_to_index(open_index(small_disk / "index"), _corpus(tmp_path / "more.jsonl", 20_000, start=100), encoder,
                     quiet=True)
    assert not encoded
    assert open_index(small_disk / "index").count == 20


def test_disk_filling_up_during_the_write_is_one_error_and_keeps_the_old_index(small_disk, tmp_path, encoder,
                                                                              monkeypatch):
    build_index(_corpus(tmp_path / "small.jsonl", 20), encoder, small_disk / "index", quiet=True)
    monkeypatch.setattr(index_dir, "preflight", lambda *args: None)  # let the write itself hit the full disk
    with pytest.raises(EngineError, match="writing index .*index failed.* the previous version, if any, is unchanged"):
        add_to_index(open_index(small_disk / "index"), _corpus(tmp_path / "big.jsonl", 3000, start=100, words=60),
                     encoder, quiet=True)
    reopened = open_index(small_disk / "index")
    assert reopened.count == 20
    assert sorted(p.name for p in small_disk.iterdir()) == [".index.lock", "index"]  # no leftover


def test_read_only_place_is_found_before_encoding(small_disk, tmp_path, encoder, monkeypatch):
    build_index(_corpus(tmp_path / "small.jsonl", 20), encoder, small_disk / "index", quiet=True)
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    encoded = []
    monkeypatch.setattr(encoder, "encode_passages", lambda *a, **k: encoded.append(1))
    with pytest.raises(EngineError, match="cannot write beside .*index .*Read-only file system"):
        add_to_index(open_index(small_disk / "index"), _corpus(tmp_path / "more.jsonl", 5, start=50), encoder,
                     quiet=True)
    with pytest.raises(EngineError, match="cannot write beside .*new.*Read-only file system"):
        build_index(_corpus(tmp_path / "new.jsonl", 5), encoder, small_disk / "new", quiet=True)
    assert not encoded
    assert open_index(small_disk / "index").count == 20  # and it still searches


def _as_a_user(command: list[str]) -> list[str]:
    """`command` as the kernel treats an ordinary user: without root's override of file permissions
    (the suite runs as root here, where chmod alone restricts nothing)."""
    if os.geteuid() != 0:
        return command
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) is needed to drop root's file-permission override")
    capabilities = "-dac_override,-dac_read_search"
    return ["setpriv", "--bounding-set", capabilities, "--inh-caps", capabilities, "--", *command]


def _engine(*args) -> subprocess.CompletedProcess:
    return subprocess.run(_as_a_user([sys.executable, "-m", "engine", *map(str, args)]), capture_output=True,
                          text=True, timeout=300)


def _one_error(done: subprocess.CompletedProcess, *fragments: str) -> None:
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1 and len(lines) == 1 and lines[0].startswith("error:"), done.stderr
    assert all(fragment in lines[0] for fragment in fragments), lines[0]


@pytest.mark.parametrize("shards", [1, 2])
def test_files_the_user_may_not_read_or_write_are_one_error_and_nothing_is_lost(tmp_path, tiny_bundle, shards):
    place = tmp_path / "place"
    place.mkdir()
    index = place / "index"
    build_index(write_corpus(tmp_path / "corpus.jsonl", corpus_records(60)),
                Encoder(tiny_bundle, variant="int8", intra_op_threads=1), index, quiet=True, shards=shards)
    before = sorted(open_index(index).ids.tolist())
    meta = index / "meta.sqlite" if shards == 1 else index / "shard-000-g0" / "meta.sqlite"
    meta.chmod(0)
    try:
        _one_error(_engine("info", index), "meta.sqlite: Permission denied")
        _one_error(_engine("search", index, "moon river"), "meta.sqlite: Permission denied")
    finally:
        meta.chmod(0o644)
    # An index's lock and next version go beside it; a sharded index's next shard versions go inside it.
    unwritable = place if shards == 1 else index
    unwritable.chmod(0o555)
    try:
        _one_error(_engine("delete", index, "p1"), "Permission denied")
        more = write_corpus(tmp_path / "more.jsonl", corpus_records(5, start=100))
        _one_error(_engine("add", index, more), f"cannot write {'beside' if shards == 1 else 'in'} {index}")
        if shards == 1:
            _one_error(_engine("build-index", more, "--out", index, "--overwrite"), f"cannot write beside {index}")
    finally:
        unwritable.chmod(0o755)
    assert sorted(open_index(index).ids.tolist()) == before

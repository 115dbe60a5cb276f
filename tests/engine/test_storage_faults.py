"""A full or read-only disk, for real: a small tmpfs mounted for each test (needs root and mount)."""

import json
import os
import subprocess

import pytest

from engine import index as index_dir
from engine.build import add_to_index, build_index
from engine.encoder import Encoder
from engine.errors import EngineError
from engine.index import open_index


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

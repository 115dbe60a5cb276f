"""Sharded index dir: N ordinary index dirs (engine.index) and a shards.json that lists them.

Layout of a sharded index dir:
    shards.json       format, model, HNSW parameters, partition function, and each shard's dir,
                      manifest checksum, count and passages per language
    shard-003-g2/     shard 3, generation 2: an ordinary index dir

A passage lives in shard `shard_of(id, N)`: the first 8 bytes of the SHA-256 of its id, modulo N, so
add and delete route the same way on every machine and in every process.

A build writes the whole dir and swaps it in, like an index (engine.atomic_dir). An add or delete
writes the next generation of each shard it touches beside the current one, then replaces
shards.json (one rename: the commit), then removes the generations it replaced. A crash before the
rename leaves only unlisted dirs, which the next writer removes; readers always see one whole version.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
import time
from pathlib import Path

import numpy as np

from engine import atomic_dir
from engine import index as index_files
from engine.corpus import Passage
from engine.errors import EngineError
from engine.hashing import sha256_file
from engine.index import HnswParams, Index, ModelInfo
from engine.manifest_schema import Field, at_least, check, nonempty, one_of, sha256

SHARDS_FILE = index_files.SHARDS_FILE
FORMAT_NAME = "engine-sharded-index"
FORMAT_VERSION = 2  # 2: each shard's passages per language
PARTITION = "sha256-mod"  # first 8 bytes of SHA-256(id), big-endian, modulo the shard count

_SHARD_ENTRY = Field(dict, fields={"dir": Field(str, valid=nonempty), "generation": Field(int, valid=at_least(0)),
                                   "manifest_sha256": Field(str, valid=sha256), "count": Field(int, valid=at_least(0)),
                                   "languages": Field(dict, entries=Field(int, valid=at_least(0)))})
SCHEMA = {
    "format": Field(str, valid=one_of(FORMAT_NAME)),
    "format_version": Field(int, valid=one_of(FORMAT_VERSION)),
    "model": index_files.MANIFEST_SCHEMA["model"],
    "hnsw": index_files.MANIFEST_SCHEMA["hnsw"],
    "partition": Field(dict, fields={"function": Field(str, valid=one_of(PARTITION)),
                                     "shards": Field(int, valid=at_least(1))}),
    "shards": Field(list, items=_SHARD_ENTRY),
    "count": Field(int, valid=at_least(0)),
    "created": Field(str, required=False),
    "updated": Field(str, required=False),
}


def is_sharded(path: Path) -> bool:
    return (Path(path) / SHARDS_FILE).is_file()


def shard_of(passage_id: str, shards: int) -> int:
    return int.from_bytes(hashlib.sha256(passage_id.encode("utf-8")).digest()[:8], "big") % shards


def partition(passages: list[Passage], shards: int) -> list[np.ndarray]:
    """Row numbers of the passages of each shard, in input order."""
    owner = np.array([shard_of(passage.id, shards) for passage in passages], dtype=np.int64)
    return [np.flatnonzero(owner == number) for number in range(shards)]


class ShardedIndex:
    """An opened sharded index. It answers what a Searcher, the CLI and the service ask of an Index
    (count, languages, model, manifest, ids, staleness) from shards.json; its shards are opened as
    Indexes by open_sharded, or on first use when it was opened with load_shards=False (by a process
    whose searches run elsewhere: engine.scale)."""

    is_sharded = True

    def __init__(self, path: Path, record: dict, stamp: tuple | None, shards: list[Index] | None = None,
                 verify: bool = True):
        self.path, self.record, self.stamp = path, record, stamp
        self._shards, self._verify, self._open_lock = shards, verify, threading.Lock()
        self.languages = sorted({code for entry in record["shards"] for code in entry["languages"]})
        self._ids = None

    @property
    def shards(self) -> list[Index]:
        with self._open_lock:
            if self._shards is None:
                self._shards = _open_shards(self.path, self.record, self._verify)
        return self._shards

    def close(self) -> None:
        for shard in self._shards or ():
            shard.close()

    def __enter__(self) -> ShardedIndex:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def is_stale(self) -> bool:
        return self.stamp is not None and _stamp(self.path) != self.stamp

    @property
    def count(self) -> int:
        return int(self.record["count"])

    @property
    def dimension(self) -> int:
        return int(self.record["model"]["dimension"])

    @property
    def params(self) -> HnswParams:
        return HnswParams(**self.record["hnsw"])

    @property
    def model(self) -> ModelInfo:
        return ModelInfo(**self.record["model"])

    @property
    def manifest(self) -> dict:
        """shards.json, with what `engine info` reads of an index manifest: the metric, and every file of
        every shard (named `shard dir/file`)."""
        files = {f"{entry['dir']}/{name}": file for entry in self.record["shards"]
                 for name, file in _shard_manifest(self.path / entry["dir"])["files"].items()}
        return {**self.record, "metric": index_files.METRIC, "files": files}

    @property
    def ids(self) -> np.ndarray:
        """Every live id of every shard (deleted labels are None), as an Index's `ids` holds them."""
        if self._ids is None:
            self._ids = np.concatenate([shard.ids for shard in self.shards]) if self.shards else np.array([], object)
        return self._ids

    def check_model(self, fingerprint: str, bundle_name: str) -> None:
        index_files.check_model_matches(self.record["model"], self.path, fingerprint, bundle_name)


def create(path: Path, passages: list[Passage], vectors: np.ndarray, model: ModelInfo, params: HnswParams,
           shards: int, overwrite: bool = False, insert_threads: int = 0) -> ShardedIndex:
    """Build a sharded index dir of `shards` shards from passages and their vectors."""
    path = index_files._real_dir(path)
    params.check()
    if not isinstance(shards, int) or shards < 1:
        raise EngineError(f"the shard count must be a positive integer, got {shards!r}")
    index_files.check_target(path, overwrite)
    rows_of = partition(passages, shards)
    with index_files._storage_errors(path), atomic_dir.writer_lock(path), atomic_dir.replace_dir(path) as temp:
        entries = []
        for number, rows in enumerate(rows_of):
            shard_dir = temp / _shard_dir(number, 0)
            with index_files.create(shard_dir, [passages[row] for row in rows], vectors[rows], model, params,
                                    insert_threads=insert_threads) as shard:
                entries.append(_entry(shard, 0))
            _drop_lock_file(shard_dir)
        _write_record(temp, {
            "format": FORMAT_NAME, "format_version": FORMAT_VERSION, "model": _model_dict(model),
            "hnsw": {"M": params.M, "ef_construction": params.ef_construction, "ef_search": params.ef_search},
            "partition": {"function": PARTITION, "shards": shards}, "shards": entries,
            "count": len(passages), "created": index_files._now()})
    return open_sharded(path)


def open_sharded(path: Path, verify: bool = True, load_shards: bool = True) -> ShardedIndex:
    """Open every shard shards.json lists (or, with load_shards=False, only shards.json), checking each
    one's manifest against it. A writer that commits while this reads is waited out (as
    engine.index.open_index does), not reported as damage."""
    path = index_files._real_dir(path)
    for _ in range(index_files.OPEN_ATTEMPTS - 1):
        stamp = _stamp(path)
        try:
            return _open_once(path, verify, load_shards, stamp)
        except (EngineError, OSError):
            if not (atomic_dir.writer_active(path) or _stamp(path) != stamp):
                break
        time.sleep(index_files.OPEN_RETRY_SECONDS)
    with index_files.reported_as_unreadable(path):
        return _open_once(path, verify, load_shards, _stamp(path))


def _open_once(path: Path, verify: bool, load_shards: bool, stamp: tuple | None) -> ShardedIndex:
    atomic_dir.recover(path)
    record = _read_record(path)
    sharded = ShardedIndex(path, record, stamp, _open_shards(path, record, verify) if load_shards else None, verify)
    if _stamp(path) != stamp:
        sharded.close()
        raise EngineError(f"sharded index {path} changed while it was being opened")
    return sharded


def _open_shards(path: Path, record: dict, verify: bool) -> list[Index]:
    opened = []
    try:
        for number, entry in enumerate(record["shards"]):
            opened.append(_open_shard(path, number, entry, record, verify))
    except BaseException:
        for shard in opened:
            shard.close()
        raise
    return opened


def _open_shard(path: Path, number: int, entry: dict, record: dict, verify: bool) -> Index:
    shard_dir = path / entry["dir"]
    where = f"shard {number} ({shard_dir})"
    if not (shard_dir / index_files.MANIFEST).is_file():
        raise EngineError(f"{where} of sharded index {path} is missing; restore it or rebuild the index")
    if sha256_file(shard_dir / index_files.MANIFEST) != entry["manifest_sha256"]:
        raise EngineError(f"{where} of sharded index {path} does not match the manifest checksum in {SHARDS_FILE} "
                          "(changed or corrupted); rebuild the index")
    try:
        shard = index_files.open_index(shard_dir, verify=verify)
    except EngineError as err:
        raise EngineError(f"{where} of sharded index {path}: {err}") from None
    if shard.model.fingerprint != record["model"]["fingerprint"] or shard.count != entry["count"]:
        shard.close()
        raise EngineError(f"{where} of sharded index {path} disagrees with {SHARDS_FILE} (model or count); "
                          "rebuild the index")
    return shard


def check_new_ids(index: ShardedIndex, passages: list[Passage]) -> None:
    shards = index.record["partition"]["shards"]
    for number, rows in enumerate(partition(passages, shards)):
        index_files.check_new_ids(index.shards[number], [passages[row] for row in rows])


def add(index: ShardedIndex, passages: list[Passage], vectors: np.ndarray, insert_threads: int = 0) -> ShardedIndex:
    """A new version with passages added to the shards their ids route to."""
    check_new_ids(index, passages)
    rows_of = partition(passages, index.record["partition"]["shards"])

    def write(number, shard, next_dir):
        rows = rows_of[number]
        return index_files.add(shard, [passages[row] for row in rows], vectors[rows], insert_threads, out=next_dir)

    return _update(index, [number for number, rows in enumerate(rows_of) if len(rows)], write, len(passages))


def delete(index: ShardedIndex, ids: list[str]) -> ShardedIndex:
    """A new version without the given ids (all must be present)."""
    shards = index.record["partition"]["shards"]
    ids_of: dict[int, list[str]] = {}
    for passage_id in dict.fromkeys(ids):
        ids_of.setdefault(shard_of(passage_id, shards), []).append(passage_id)
    present = set(index.ids[index.ids != None])  # noqa: E711 (element-wise comparison)
    missing = [passage_id for passage_id in ids if passage_id not in present]
    if missing:
        raise EngineError(f"{len(missing)} id(s) not in index {index.path}, e.g. {missing[0]!r}")

    def write(number, shard, next_dir):
        return index_files.delete(shard, ids_of[number], out=next_dir)

    return _update(index, sorted(ids_of), write, -len(set(ids)))


def _update(index: ShardedIndex, touched: list[int], write, count_change: int) -> ShardedIndex:
    """Write the next generation of the touched shards, then commit shards.json, then drop what it replaced."""
    path = index.path
    with index_files._storage_errors(path), atomic_dir.writer_lock(path):
        if _read_record(path) != index.record:
            raise EngineError(f"index {path} was changed by another writer since it was opened; "
                              "open it again and retry")
        _remove_unlisted(path, index.record)
        entries = [dict(entry) for entry in index.record["shards"]]
        replaced = []
        for number in touched:
            generation = entries[number]["generation"] + 1
            next_dir = path / _shard_dir(number, generation)
            with write(number, index.shards[number], next_dir) as shard:
                entries[number] = _entry(shard, generation)
            replaced.append(path / index.record["shards"][number]["dir"])
        _write_record(path, {**index.record, "shards": entries, "count": index.count + count_change,
                             "updated": index_files._now()})
        for old in replaced:
            shutil.rmtree(old, ignore_errors=True)
            _drop_lock_file(old)
    return open_sharded(path)


def _remove_unlisted(path: Path, record: dict) -> None:
    """What a writer that died before its commit left behind (the caller holds the writer lock): shard
    dirs shards.json does not list, and half-written versions of shard dirs."""
    listed = {entry["dir"] for entry in record["shards"]}
    for leftover in [*path.glob("shard-*"), *path.glob(".shard-*.tmp-*"), *path.glob(".shard-*.old-*")]:
        if leftover.is_dir() and leftover.name not in listed:
            shutil.rmtree(leftover, ignore_errors=True)
    for lock in path.glob(".shard-*.lock"):
        if lock.name[1:-len(".lock")] not in listed:
            lock.unlink(missing_ok=True)


def _shard_dir(number: int, generation: int) -> str:
    return f"shard-{number:03d}-g{generation}"


def _drop_lock_file(shard_dir: Path) -> None:
    (shard_dir.parent / f".{shard_dir.name}.lock").unlink(missing_ok=True)


def _entry(shard: Index, generation: int) -> dict:
    return {"dir": shard.path.name, "generation": generation,
            "manifest_sha256": sha256_file(shard.path / index_files.MANIFEST), "count": shard.count,
            "languages": shard.language_counts()}


def _shard_manifest(shard_dir: Path) -> dict:
    try:
        return json.loads((shard_dir / index_files.MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise EngineError(f"shard {shard_dir} has no readable {index_files.MANIFEST} ({err}); rebuild the index") from None


def _model_dict(model: ModelInfo) -> dict:
    return {"fingerprint": model.fingerprint, "source_model": model.source_model, "variant": model.variant,
            "dimension": model.dimension, "bundle": model.bundle}


def _write_record(directory: Path, record: dict) -> None:
    """shards.json, replaced in one rename (the commit of an update)."""
    temp = directory / f".{SHARDS_FILE}.tmp-{os.getpid()}"
    with open(temp, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(record, indent=2, ensure_ascii=False) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, directory / SHARDS_FILE)


def _read_record(path: Path) -> dict:
    if not path.is_dir():
        raise EngineError(f"index {path} does not exist or is not a directory")
    record_path = path / SHARDS_FILE
    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EngineError(f"{path} is not a sharded index dir: it has no {SHARDS_FILE}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise EngineError(f"{record_path} is corrupted: {err}") from None
    if not isinstance(record, dict) or record.get("format") != FORMAT_NAME:
        raise EngineError(f"{record_path} is not an engine sharded-index file")
    if record.get("format_version") != FORMAT_VERSION:
        raise EngineError(f"{record_path} has format version {record.get('format_version')}; this engine reads "
                          f"version {FORMAT_VERSION}")
    check(record, SCHEMA, str(record_path))
    if len(record["shards"]) != record["partition"]["shards"]:
        raise EngineError(f"{record_path} lists {len(record['shards'])} shards, its partition says "
                          f"{record['partition']['shards']}: the file is damaged")
    if sum(entry["count"] for entry in record["shards"]) != record["count"]:
        raise EngineError(f"{record_path}: the shard counts do not add up to count {record['count']}: "
                          "the file is damaged")
    return record


def _stamp(path: Path) -> tuple | None:
    try:
        status = (Path(path) / SHARDS_FILE).stat()
    except OSError:
        return None
    return status.st_ino, status.st_mtime_ns, status.st_size

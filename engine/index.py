"""Index dir: hnswlib graph, stored vectors, SQLite metadata and a manifest with checksums.

Layout of an index dir:
    manifest.json   format, model fingerprint, dimension, metric, HNSW parameters, count, checksums
    graph.hnsw      hnswlib graph over L2-normalised vectors, inner-product space
    vectors.npy     float32 (labels, dim): row i is the vector of graph label i (exact scoring, rebuilds)
    meta.sqlite     passage metadata (engine.metadata)

Every change (build, add, delete) writes a complete new dir and swaps it in (engine.atomic_dir),
so a crash or kill leaves the previous index as it was.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

import hnswlib
import numpy as np

from engine import atomic_dir, graph_layout, metadata
from engine.corpus import Passage
from engine.errors import EngineError
from engine.hashing import sha256_file
from engine.manifest_schema import Field, at_least, check, nonempty, one_of, sha256

FORMAT_NAME = "engine-index"
FORMAT_VERSION = 1
METRIC = "ip"
MANIFEST = "manifest.json"
GRAPH = "graph.hnsw"
VECTORS = "vectors.npy"
METADATA = "meta.sqlite"
DATA_FILES = (GRAPH, VECTORS, METADATA)
SHARDS_FILE = "shards.json"  # marks a sharded index dir (engine.shards)
VARIANTS = ("fp32", "int8", "fp16")

_FILE_ENTRY = Field(dict, fields={"sha256": Field(str, valid=sha256), "size": Field(int, valid=at_least(0))})
MANIFEST_SCHEMA = {
    "format": Field(str, valid=one_of(FORMAT_NAME)),
    "format_version": Field(int, valid=one_of(FORMAT_VERSION)),
    "model": Field(dict, fields={
        "fingerprint": Field(str, valid=nonempty), "source_model": Field(str),
        "variant": Field(str, valid=one_of(*VARIANTS)), "dimension": Field(int, valid=at_least(1)),
        "bundle": Field(str, valid=nonempty)}),
    "metric": Field(str, valid=one_of(METRIC)),
    "hnsw": Field(dict, fields={"M": Field(int, valid=at_least(2)), "ef_construction": Field(int, valid=at_least(1)),
                                "ef_search": Field(int, valid=at_least(1))}),
    "count": Field(int, valid=at_least(0)),
    "next_label": Field(int, valid=at_least(0)),
    "files": Field(dict, fields={name: _FILE_ENTRY for name in DATA_FILES}),
    "created": Field(str, required=False),
    "updated": Field(str, required=False),
}
INSERT_ORDER_SEED = 0
INSERT_CHUNK = 65_536


@dataclass(frozen=True)
class HnswParams:
    M: int = 32
    ef_construction: int = 200
    ef_search: int = 64

    def check(self) -> HnswParams:
        for name, value in asdict(self).items():
            if not isinstance(value, int) or value < 1:
                raise EngineError(f"HNSW parameter {name} must be a positive integer, got {value!r}")
        if self.M < 2:  # hnswlib derives its level multiplier from 1 / ln(M)
            raise EngineError(f"HNSW parameter M must be at least 2, got {self.M}")
        return self


@dataclass(frozen=True)
class ModelInfo:
    """What the index records about the model that made its vectors."""

    fingerprint: str
    source_model: str
    variant: str
    dimension: int
    bundle: str  # where the bundle was, so search can find it again without --model


class Index:
    """An opened index dir. The graph and vectors are loaded; metadata stays in SQLite."""

    def __init__(self, path: Path, manifest: dict, graph: hnswlib.Index, vectors: np.ndarray,
                 catalogue: list[tuple[int, str, str]], stamp: tuple | None = None):
        self.path = path
        self.manifest = manifest
        self.stamp = stamp  # the manifest file this handle was opened from (manifest_stamp)
        self.graph = graph
        # hnswlib's ef is graph-wide state: setting it and querying happen under this lock.
        self.graph_lock = threading.Lock()
        self.vectors = vectors
        self.metadata = metadata.MetadataReader(path / METADATA)
        n_labels = vectors.shape[0]
        self.ids = np.full(n_labels, None, dtype=object)
        self.languages = sorted({lang for _, _, lang in catalogue})
        lang_number = {lang: number for number, lang in enumerate(self.languages)}
        self.lang_of_label = np.full(n_labels, -1, dtype=np.int16)
        for label, passage_id, lang in catalogue:
            self.ids[label] = passage_id
            self.lang_of_label[label] = lang_number[lang]
        self.language_names = np.array(self.languages + [""], dtype=object)  # code -1 (deleted) -> ""

    def close(self) -> None:
        """Close the metadata connection this handle reads through (every thread's reads)."""
        self.metadata.close()

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def is_stale(self) -> bool:
        """True once another writer has swapped a new version of the index into place."""
        return self.stamp is not None and manifest_stamp(self.path) != self.stamp

    @property
    def count(self) -> int:
        return int(self.manifest["count"])

    @property
    def dimension(self) -> int:
        return int(self.manifest["model"]["dimension"])

    @property
    def params(self) -> HnswParams:
        return HnswParams(**self.manifest["hnsw"])

    @property
    def model(self) -> ModelInfo:
        return ModelInfo(**self.manifest["model"])

    def check_model(self, fingerprint: str, bundle_name: str) -> None:
        check_model_matches(self.manifest["model"], self.path, fingerprint, bundle_name)

    def language_counts(self) -> dict[str, int]:
        """Live passages per language code."""
        codes, counts = np.unique(self.lang_of_label[self.lang_of_label >= 0], return_counts=True)
        return {self.languages[code]: int(count) for code, count in zip(codes, counts)}


def check_model_matches(model: dict, path: Path, fingerprint: str, bundle_name: str) -> None:
    """An index (its manifest's `model`) is searched only with the model that made its vectors."""
    expected = model["fingerprint"]
    if fingerprint != expected:
        raise EngineError(
            f"model {bundle_name} (fingerprint {fingerprint[:12]}) does not match index {path}, "
            f"which was built with {model['source_model']} "
            f"(fingerprint {expected[:12]}); use that model or rebuild the index"
        )


def create(path: Path, passages: list[Passage], vectors: np.ndarray, model: ModelInfo,
           params: HnswParams = HnswParams(), overwrite: bool = False, insert_threads: int = 0) -> Index:
    """Build a new index dir from passages and their vectors (row i belongs to passage i).
    `insert_threads`: threads that insert into the graph (0: every core)."""
    path = _real_dir(path)
    params.check()
    check_target(path, overwrite)
    _check_vectors(vectors, model.dimension, len(passages))
    with _storage_errors(path), atomic_dir.writer_lock(path), atomic_dir.replace_dir(path) as temp:
        graph = _new_graph(model.dimension, params, capacity=len(passages))
        _insert(graph, vectors, np.arange(len(passages)), insert_threads)
        graph.save_index(str(temp / GRAPH))
        del graph  # the layout pass below reads the file: free the in-memory copy first
        graph_layout.order_by_label(temp / GRAPH)
        np.save(temp / VECTORS, vectors.astype(np.float32, copy=False))
        metadata.create(temp / METADATA)
        metadata.insert(temp / METADATA, passages, first_label=0)
        _write_manifest(temp, {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "model": asdict(model),
            "metric": METRIC,
            "hnsw": asdict(params),
            "count": len(passages),
            "next_label": len(passages),
            "created": _now(),
        })
    return open_index(path)


def check_target(path: Path, overwrite: bool) -> None:
    """Refuse to replace an existing index without `overwrite`, or anything that is not an index."""
    if path.exists() and not overwrite:
        raise EngineError(f"{path} already exists; pass --overwrite to replace it, or use `engine add`")
    if path.exists() and not ((path / MANIFEST).is_file() or (path / SHARDS_FILE).is_file()):
        raise EngineError(f"{path} exists and is not an index dir; refusing to replace it")


# Bytes a new version needs per passage beyond its vector: graph links, SQLite row (a rough floor).
_BYTES_PER_PASSAGE = 1024


def _real_dir(path: Path) -> Path:
    """A symlinked index is read and replaced where the link points, so the link itself stays."""
    path = Path(path)
    return path.resolve() if path.is_symlink() else path


def preflight(path: Path, count: int, dimension: int) -> None:
    """Before a long encoding: the place beside the index must take the writer lock and a new version,
    and hold at least the vectors of `count` passages (with the existing ones, for an update)."""
    path = _real_dir(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_dir.check_lock_writable(path)
        with tempfile.TemporaryFile(dir=path.parent, prefix=f".{path.name}.probe-"):
            pass
    except OSError as err:
        raise EngineError(f"cannot write beside {path} ({err.strerror}): the index needs a writable "
                          f"directory for its lock and new version") from None
    if (path / SHARDS_FILE).is_file():  # an update writes each shard's next version inside the sharded dir
        try:
            with tempfile.TemporaryFile(dir=path, prefix=".probe-"):
                pass
        except OSError as err:
            raise EngineError(f"cannot write in {path} ({err.strerror}): a sharded index needs a writable "
                              f"directory for its shards' next versions") from None
    existing = sum(file.stat().st_size for file in path.rglob("*") if file.is_file()) if path.is_dir() else 0
    needed = existing + count * (dimension * 4 + _BYTES_PER_PASSAGE)
    free = shutil.disk_usage(path.parent).free
    if free < needed:
        raise EngineError(f"not enough disk space beside {path}: the new version needs at least "
                          f"{needed / 1e6:.1f} MB, {free / 1e6:.1f} MB is free")


@contextmanager
def _storage_errors(path: Path):
    """A full or read-only disk during a write is one EngineError; the swap never happened, so the
    previous version of the index is untouched."""
    try:
        yield
    except (OSError, sqlite3.OperationalError) as err:
        raise EngineError(f"writing index {path} failed ({getattr(err, 'strerror', None) or err}); the previous "
                          f"version, if any, is unchanged") from None
    except EngineError:
        free = shutil.disk_usage(Path(path).parent).free if Path(path).parent.exists() else None
        if free is not None and free < 1 << 20:  # a file cut short by a full disk reads as a bad one
            raise EngineError(f"writing index {path} failed: the disk is full ({free} bytes free); the "
                              f"previous version, if any, is unchanged") from None
        raise


OPEN_ATTEMPTS = 40
OPEN_RETRY_SECONDS = 0.05


def manifest_stamp(path: Path) -> tuple | None:
    """Identity of the index's manifest file (inode, mtime, size): a swap always changes it."""
    try:
        status = (Path(path) / MANIFEST).stat()
    except OSError:
        return None
    return status.st_ino, status.st_mtime_ns, status.st_size


def open_index(path: Path, verify: bool = True, load_shards: bool = True) -> Index:
    """Open an index dir, checking its manifest and (by default) every file's checksum.

    A writer in another process may swap a new version in while this reads: a failure that coincides
    with a held writer lock or a changed manifest is retried (up to 2 s) instead of reported as damage.
    A sharded index dir (engine.shards) opens as a ShardedIndex, which searches and updates the same way;
    `load_shards=False` opens only its shards.json (the shards open on first use)."""
    path = _real_dir(path)
    if (path / SHARDS_FILE).is_file():
        from engine.shards import open_sharded

        return open_sharded(path, verify, load_shards)
    for _ in range(OPEN_ATTEMPTS - 1):
        stamp = manifest_stamp(path)
        try:
            return _open_once(path, verify, stamp)
        except (EngineError, OSError, RuntimeError, sqlite3.Error):
            if not (atomic_dir.writer_active(path) or manifest_stamp(path) != stamp):
                break  # no swap under way: the last attempt below reports what is wrong
        time.sleep(OPEN_RETRY_SECONDS)
    with reported_as_unreadable(path):
        return _open_once(path, verify, manifest_stamp(path))


@contextmanager
def reported_as_unreadable(path: Path):
    """The system refusing to read an index file (permissions, an I/O error) as one error naming the file."""
    try:
        yield
    except OSError as err:
        raise EngineError(f"cannot read index {path}: {err.filename or path}: {err.strerror or err}") from None


def _open_once(path: Path, verify: bool, stamp: tuple | None) -> Index:
    atomic_dir.recover(path)
    manifest = _read_manifest(path)
    for name in DATA_FILES:
        file = path / name
        if not file.is_file():
            raise EngineError(f"index {path} is missing {name}")
        entry = manifest["files"][name]
        open(file, "rb").close()  # a file the system refuses to read is named here, not by hnswlib or SQLite
        if file.stat().st_size != entry["size"] or (verify and sha256_file(file) != entry["sha256"]):
            raise EngineError(
                f"index file {file} is truncated or corrupted (it does not match the checksum in "
                f"{MANIFEST}); rebuild the index"
            )
    dimension = manifest["model"]["dimension"]
    vectors = np.load(path / VECTORS, mmap_mode="r")
    if vectors.ndim != 2 or vectors.shape != (manifest["next_label"], dimension):
        raise EngineError(f"index file {path / VECTORS} has shape {vectors.shape}, expected "
                          f"({manifest['next_label']}, {dimension})")
    graph = hnswlib.Index(space=METRIC, dim=dimension)
    graph.load_index(str(path / GRAPH), max_elements=manifest["next_label"])
    graph.set_ef(manifest["hnsw"]["ef_search"])
    catalogue = metadata.read_catalogue(path / METADATA)
    if len(catalogue) != manifest["count"]:
        raise EngineError(f"index {path}: {MANIFEST} says {manifest['count']} passages, {METADATA} holds "
                          f"{len(catalogue)}; rebuild the index")
    index = Index(path, manifest, graph, vectors, catalogue, stamp)
    if manifest_stamp(path) != stamp:  # a writer swapped a new version in while the files were read
        index.close()
        raise EngineError(f"index {path} changed while it was being opened")
    return index


def check_new_ids(index: Index, passages: list[Passage]) -> None:
    """Refuse passages whose ids the index already holds."""
    if getattr(index, "is_sharded", False):
        from engine import shards

        return shards.check_new_ids(index, passages)
    present = set(index.ids[index.ids != None])  # noqa: E711 (element-wise comparison)
    clashes = [p.id for p in passages if p.id in present]
    if clashes:
        raise EngineError(f"{len(clashes)} id(s) already in index {index.path}, e.g. {clashes[0]!r}; "
                          "delete them first or use new ids")


def add(index: Index, passages: list[Passage], vectors: np.ndarray, insert_threads: int = 0,
        out: Path | None = None) -> Index:
    """A new version of the index with passages appended; ids already present are refused. The new
    version replaces the index, or is written to `out` (engine.shards keeps generations side by side)."""
    _check_vectors(vectors, index.dimension, len(passages))
    if getattr(index, "is_sharded", False):
        from engine import shards

        return shards.add(index, passages, vectors, insert_threads)
    check_new_ids(index, passages)
    first = index.manifest["next_label"]
    with _updating(index, out) as temp:
        graph = _load_graph_copy(index, capacity=first + len(passages))
        _insert(graph, vectors, np.arange(first, first + len(passages)), insert_threads)
        graph.save_index(str(temp / GRAPH))
        del graph
        graph_layout.order_by_label(temp / GRAPH)
        np.save(temp / VECTORS, np.concatenate([index.vectors, vectors.astype(np.float32)]))
        shutil.copyfile(index.path / METADATA, temp / METADATA)
        metadata.insert(temp / METADATA, passages, first_label=first)
        _write_manifest(temp, {**index.manifest, "count": index.count + len(passages),
                               "next_label": first + len(passages), "updated": _now()})
    return open_index(out or index.path)


def delete(index: Index, ids: list[str], out: Path | None = None) -> Index:
    """A new version of the index without the given ids (all must be present), in place or at `out`."""
    if getattr(index, "is_sharded", False):
        from engine import shards

        return shards.delete(index, ids)
    label_of = {passage_id: label for label, passage_id in enumerate(index.ids) if passage_id is not None}
    missing = [passage_id for passage_id in ids if passage_id not in label_of]
    if missing:
        raise EngineError(f"{len(missing)} id(s) not in index {index.path}, e.g. {missing[0]!r}")
    labels = sorted({label_of[passage_id] for passage_id in ids})
    with _updating(index, out) as temp:
        graph = _load_graph_copy(index, capacity=index.manifest["next_label"])
        for label in labels:
            graph.mark_deleted(label)
        graph.save_index(str(temp / GRAPH))
        shutil.copyfile(index.path / VECTORS, temp / VECTORS)
        shutil.copyfile(index.path / METADATA, temp / METADATA)
        metadata.delete(temp / METADATA, labels)
        _write_manifest(temp, {**index.manifest, "count": index.count - len(labels), "updated": _now()})
    return open_index(out or index.path)


@contextmanager
def _updating(index: Index, out: Path | None = None):
    """A temp dir for the next version of `index` (swapped in at `out`, else in place), under the
    writer lock, refused when another writer changed the index after this handle was opened (its
    changes would be lost)."""
    with _storage_errors(index.path), atomic_dir.writer_lock(index.path):
        if _read_manifest(index.path).get("files") != index.manifest["files"]:
            raise EngineError(f"index {index.path} was changed by another writer since it was opened; "
                              "open it again and retry")
        with atomic_dir.replace_dir(out or index.path) as temp:
            yield temp


def _insert(graph: hnswlib.Index, vectors: np.ndarray, labels: np.ndarray, threads: int) -> None:
    """Insert rows in a seeded random order, INSERT_CHUNK rows per call (chunks bound the shuffled
    copy's memory; with several threads the graph still varies from build to build). hnswlib builds
    a markedly worse graph when near neighbours arrive together, as a corpus's passages do (one
    document, one language after another): on MIRACL Yoruba recall@10 at ef 256 is 0.878-0.893 from
    corpus order against 0.935-0.950 shuffled (docs/benchmarks/hnsw-graphs). engine.graph_layout
    then renumbers the saved graph by label, for memory locality."""
    order = np.random.default_rng(INSERT_ORDER_SEED).permutation(len(labels))
    for start in range(0, len(order), INSERT_CHUNK):
        rows = order[start:start + INSERT_CHUNK]
        graph.add_items(vectors[rows], labels[rows], num_threads=threads or -1)


def _new_graph(dimension: int, params: HnswParams, capacity: int) -> hnswlib.Index:
    graph = hnswlib.Index(space=METRIC, dim=dimension)
    graph.init_index(max_elements=max(capacity, 1), M=params.M, ef_construction=params.ef_construction,
                     allow_replace_deleted=False)
    graph.set_ef(params.ef_search)
    return graph


def _load_graph_copy(index: Index, capacity: int) -> hnswlib.Index:
    """A fresh in-memory copy of the stored graph, so the opened index stays untouched."""
    graph = hnswlib.Index(space=METRIC, dim=index.dimension)
    graph.load_index(str(index.path / GRAPH), max_elements=capacity)
    return graph


def _check_vectors(vectors: np.ndarray, dimension: int, count: int) -> None:
    if vectors.ndim != 2 or vectors.shape[1] != dimension:
        raise EngineError(f"vectors have shape {vectors.shape}; the index needs dimension {dimension}")
    if vectors.shape[0] != count:
        raise EngineError(f"{vectors.shape[0]} vectors for {count} passages")
    if not np.isfinite(vectors).all():
        raise EngineError("vectors contain NaN or infinite values")


def _write_manifest(directory: Path, manifest: dict) -> None:
    manifest["files"] = {
        name: {"sha256": sha256_file(directory / name), "size": (directory / name).stat().st_size}
        for name in DATA_FILES
    }
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _read_manifest(path: Path) -> dict:
    if not path.is_dir():
        raise EngineError(f"index {path} does not exist or is not a directory")
    manifest_path = path / MANIFEST
    if not manifest_path.is_file():
        raise EngineError(f"{path} is not an index dir: it has no {MANIFEST} (build one with `engine build-index`)")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise EngineError(f"{manifest_path} is corrupted: {err}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        raise EngineError(f"{manifest_path} is not an engine index manifest")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise EngineError(f"{manifest_path} has format version {manifest.get('format_version')}; "
                          f"this engine reads version {FORMAT_VERSION}")
    check(manifest, MANIFEST_SCHEMA, str(manifest_path))
    if manifest["count"] > manifest["next_label"]:
        raise EngineError(f"{manifest_path}: count {manifest['count']} exceeds next_label {manifest['next_label']}: "
                          "the manifest is damaged")
    return manifest


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")

"""Reading a corpus with Ray Data (`engine build-index --ray`): the file is cut into byte ranges, and Ray
Data tasks read them in two passes, first counting each range's lines (so every range knows the file
line it starts on), then parsing and checking its lines with the engine's own JSONL / TSV readers and
passage checks (engine.corpus). A bad line is therefore named by file and line exactly as a read in
one process names it; the driver gathers the passages in file order and checks ids across the file.

A line belongs to the range its first byte falls in. The file must be readable at the same path on every
node that runs a task (a shared filesystem), as the shard dirs must be."""

from __future__ import annotations

import io
import pickle
from functools import partial
from pathlib import Path

from engine.corpus import Passage, check_corpus_file, checked_passages, is_tsv, unique_passages
from engine.errors import EngineError
from engine.scale.cluster import connect, failure_message
from engine.text_lines import decoded_lines

BYTES_PER_TASK = 32 << 20


def read_corpus_with_ray(path: str | Path, default_lang: str | None, address: str,
                         bytes_per_task: int = BYTES_PER_TASK) -> list[Passage]:
    """The checked passages of a corpus file, as engine.corpus.read_corpus returns them."""
    path = check_corpus_file(path, default_lang).resolve()
    try:
        size = path.stat().st_size
        with open(path, "rb") as handle:  # opened here first, so an unreadable file is this process's error
            header = _tsv_header(handle, path) if is_tsv(path) else None
    except OSError as err:
        raise EngineError(f"cannot read corpus {path}: {err.strerror}") from None
    ray = connect(address)
    ranges = [{"start": start, "end": min(start + bytes_per_task, size)}
              for start in range(0, max(size, 1), bytes_per_task)]
    try:
        counted = sorted(ray.data.from_items(ranges).map(partial(_count_lines, path=path)).take_all(),
                         key=lambda row: row["start"])
        first_line = 1
        for row in counted:
            row["first_line"], first_line = first_line, first_line + row["lines"]
        reader = partial(_read_range, path=path, default_lang=default_lang, tsv_header=header)
        parsed = ray.data.from_items(counted).map(reader).take_all()
    except Exception as err:  # Ray wraps a task's exception in its own types
        raise EngineError(failure_message(err)) from None
    numbered = [pair for row in sorted(parsed, key=lambda row: row["start"]) for pair in pickle.loads(row["passages"])]
    return unique_passages(path, numbered)


def _tsv_header(handle, path: Path) -> str | None:
    """The TSV's header line, which ranges after the first need to read their rows."""
    return next((text for _, text in decoded_lines(iter([handle.readline()]), str(path))), None)


def _lines_in(handle, start: int, end: int) -> bytes:
    """The bytes of the lines whose first byte lies in [start, end)."""
    if start > 0:
        handle.seek(start - 1)
        handle.readline()  # the rest of the line that began before start (or just its newline)
    first = handle.tell()
    if first >= end:
        return b""
    chunk = handle.read(end - first)
    return chunk if chunk.endswith(b"\n") or len(chunk) < end - first else chunk + handle.readline()


def _count_lines(row: dict, path: Path) -> dict:
    with open(path, "rb") as handle:
        chunk = _lines_in(handle, row["start"], row["end"])
    return {**row, "lines": chunk.count(b"\n") + (0 if not chunk or chunk.endswith(b"\n") else 1)}


def _read_range(row: dict, path: Path, default_lang: str | None, tsv_header: str | None) -> dict:
    with open(path, "rb") as handle:
        chunk = _lines_in(handle, row["start"], row["end"])
    lines = decoded_lines(io.BytesIO(chunk), str(path), row["first_line"])
    header = tsv_header if row["first_line"] > 1 else None  # the first range reads the header itself
    # Pickled: Ray Data would try to lay (line, Passage) pairs out as Arrow columns.
    return {"start": row["start"], "passages": pickle.dumps(list(checked_passages(path, lines, default_lang, header)))}

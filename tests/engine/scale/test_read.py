"""Reading a corpus with Ray Data gives what engine.corpus.read_corpus gives, passages and errors alike,
however the file is cut into ranges."""

import codecs
import io
import json

import pytest

from engine.corpus import read_corpus
from engine.errors import EngineError
from engine.scale.read import _lines_in, read_corpus_with_ray

RECORDS = [{"id": f"p{n}", "text": f"passage {n} " + "ü" * (n % 7), "lang": ["en", "de", "sw"][n % 3]}
           for n in range(60)]


def read_both(path, bytes_per_task, address):
    return read_corpus(path), read_corpus_with_ray(path, None, address, bytes_per_task=bytes_per_task)


def address_of(ray):
    return ray.get_runtime_context().gcs_address


def test_ranges_hold_each_line_once_whatever_the_cut():
    data = b"a\nbb\n\nccc\ndddd"  # no newline at the end
    for size in range(1, len(data) + 2):
        handle = io.BytesIO(data)
        pieces = [_lines_in(handle, start, min(start + size, len(data))) for start in range(0, len(data), size)]
        assert b"".join(pieces) == data, size


@pytest.mark.parametrize("bytes_per_task", [37, 500, 1 << 20])
def test_jsonl_and_tsv_read_like_the_local_reader(ray_cluster, tmp_path, bytes_per_task):
    jsonl = tmp_path / "corpus.jsonl"
    lines = [json.dumps(record, ensure_ascii=False) for record in RECORDS]
    jsonl.write_bytes(codecs.BOM_UTF8 + "\n".join(lines[:30] + ["", "  "] + lines[30:]).encode())
    tsv = tmp_path / "corpus.tsv"
    tsv.write_text("id\ttext\tlang\n" + "".join(f"{r['id']}\t{r['text']}\t{r['lang']}\n" for r in RECORDS))
    for path in (jsonl, tsv):
        local, distributed = read_both(path, bytes_per_task, address_of(ray_cluster))
        assert distributed == local and len(local) == len(RECORDS)


def test_every_error_is_the_local_readers_error(ray_cluster, tmp_path):
    lines = [json.dumps(record) for record in RECORDS]
    cases = {
        "malformed.jsonl": "\n".join(lines[:41] + ['{"id": "x", "text": '] + lines[41:]).encode(),
        "duplicate.jsonl": "\n".join(lines + [lines[3]]).encode(),
        "bad-utf8.jsonl": "\n".join(lines[:50]).encode() + b'\n{"id": "u", "text": "\xff"}\n',
        "bad-lang.jsonl": "\n".join(lines + ['{"id": "z", "text": "t", "lang": "zzz"}']).encode(),
        "short-row.tsv": ("id\ttext\n" + "".join(f"p{n}\tt{n}\n" for n in range(40)) + "p40\n").encode(),
        "empty.jsonl": b"\n\n",
    }
    for name, data in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(EngineError) as local:
            read_corpus(path)
        with pytest.raises(EngineError) as distributed:
            read_corpus_with_ray(path, None, address_of(ray_cluster), bytes_per_task=64)
        assert str(distributed.value) == str(local.value), name
    with pytest.raises(EngineError, match="is a directory"):
        read_corpus_with_ray(tmp_path, None, address_of(ray_cluster))

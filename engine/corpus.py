"""Read the inputs users give: a passage collection, JSONL (BEIR/MTEB corpus.jsonl shape) or TSV with a
header row, and query files (`qid<TAB>query` lines).

Every record needs an id (`id` or BEIR's `_id`) and a non-empty `text`; `title` and `lang` are
optional; any other field is kept as extra metadata. The whole file is checked before anything is
encoded, so a bad line fails fast and names itself.
"""

from __future__ import annotations

import csv
import itertools
from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import EngineError
from engine.jsonl import json_objects
from engine.languages import UNDETERMINED, check_language_code
from engine.text_lines import decoded_lines, is_valid_unicode

ID_FIELDS = ("id", "_id")
MAX_FIELD_CHARS = 1 << 30  # csv's default limit (128 KiB) is smaller than some real passages
KNOWN_FIELDS = {*ID_FIELDS, "text", "title", "lang"}


@dataclass
class Passage:
    id: str
    text: str
    title: str = ""
    lang: str = UNDETERMINED
    extra: dict = field(default_factory=dict)


def passage_text(passage: Passage) -> str:
    """What gets embedded: the title, when there is one, before the text."""
    return f"{passage.title}. {passage.text}" if passage.title else passage.text


def read_corpus(path: str | Path, default_lang: str | None = None) -> list[Passage]:
    path = check_corpus_file(path, default_lang)
    try:
        handle = open(path, "rb")
    except OSError as err:
        raise EngineError(f"cannot read corpus {path}: {err.strerror}") from None
    with handle:
        return unique_passages(path, checked_passages(path, decoded_lines(handle, str(path)), default_lang))


def check_corpus_file(path: str | Path, default_lang: str | None) -> Path:
    path = Path(path)
    if path.is_dir():
        raise EngineError(f"corpus {path} is a directory: give a JSONL or TSV file")
    if not path.is_file():
        raise EngineError(f"corpus file {path} does not exist")
    if default_lang is not None:
        check_language_code(default_lang, "--lang")
    return path


def is_tsv(path: Path) -> bool:
    return path.suffix.lower() in (".tsv", ".tab")


def checked_passages(path: Path, lines, default_lang: str | None = None, tsv_header: str | None = None):
    """Yield (line number, Passage) for each record in `lines`, the (line number, text) of corpus file
    `path`; `tsv_header` is the header line of a TSV file read from the middle (engine.scale.read)."""
    records = _tsv_records(path, lines, tsv_header) if is_tsv(path) else json_objects(lines, path)
    for line_no, record in records:
        yield line_no, passage_from_record(record, f"{path}:{line_no}", default_lang)


def unique_passages(path: Path, numbered) -> list[Passage]:
    """The passages of (line number, Passage) pairs in file order; a repeated id or no passage is an error."""
    passages, first_line_of = [], {}
    for line_no, passage in numbered:
        if passage.id in first_line_of:
            raise EngineError(
                f"{path}:{line_no}: duplicate id {passage.id!r} (first seen on line {first_line_of[passage.id]})"
            )
        first_line_of[passage.id] = line_no
        passages.append(passage)
    if not passages:
        raise EngineError(f"corpus {path} is empty: no passages to index")
    return passages


def _tsv_records(path: Path, lines, header_line: str | None):
    csv.field_size_limit(MAX_FIELD_CHARS)
    line_numbers = []  # the file line of each text line csv reads (fields never span lines: QUOTE_NONE)

    def texts():
        for line_no, text in lines:
            line_numbers.append(line_no)
            yield text

    header_first = [header_line] if header_line is not None else []
    reader = csv.reader(itertools.chain(header_first, texts()), delimiter="\t", quoting=csv.QUOTE_NONE)
    try:
        header = next(reader, None)
        if header is None:
            return
        if "text" not in header or not set(ID_FIELDS).intersection(header):
            raise EngineError(f"{path}:1: the TSV header must name the columns, including 'id' and 'text' (got {header})")
        repeated = sorted({name for name in header if header.count(name) > 1})
        if repeated:
            raise EngineError(f"{path}:1: the TSV header names {', '.join(map(repr, repeated))} more than once")
        for row in reader:
            line_no = line_numbers[-1]
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise EngineError(f"{path}:{line_no}: expected {len(header)} tab-separated fields, found {len(row)}")
            yield line_no, dict(zip(header, row))
    except csv.Error as err:
        raise EngineError(f"{path}:{line_numbers[-1] if line_numbers else 1}: {err}") from None


def passage_from_record(record: dict, where: str, default_lang: str | None = None) -> Passage:
    """One corpus record (a JSONL object or a TSV row) as a checked Passage; errors start with `where`."""
    raw_id = next((record[name] for name in ID_FIELDS if name in record), None)
    if raw_id is None or (isinstance(raw_id, str) and not raw_id.strip()):
        raise EngineError(f"{where}: missing 'id'")
    if not isinstance(raw_id, (str, int)) or isinstance(raw_id, bool):
        raise EngineError(f"{where}: 'id' must be a string or an integer")
    text = record.get("text")
    if text is None:
        raise EngineError(f"{where}: missing 'text'")
    if not isinstance(text, str) or not text.strip():
        raise EngineError(f"{where}: 'text' must be a non-empty string")
    if not is_valid_unicode(text):
        raise EngineError(f"{where}: 'text' holds an unpaired surrogate escape (not valid Unicode text)")
    title = record.get("title") or ""
    if not isinstance(title, str):
        raise EngineError(f"{where}: 'title' must be a string")
    lang = record.get("lang") or default_lang or UNDETERMINED
    if not isinstance(lang, str):
        raise EngineError(f"{where}: 'lang' must be a string")
    if lang != UNDETERMINED:
        check_language_code(lang, f"{where}: 'lang'")
    extra = {key: value for key, value in record.items() if key not in KNOWN_FIELDS}
    return Passage(id=str(raw_id), text=text, title=title, lang=lang, extra=extra)


def read_queries(handle, name: str | None = None) -> tuple[list[str], list[str]]:
    """`qid<TAB>query` lines (TREC topics TSV) from a binary handle; blank lines are skipped, qids must
    be unique and hold no whitespace (a TREC run could not be read back)."""
    qids, texts, line_of = [], [], {}
    name = name or getattr(handle, "name", "queries")
    for line_no, line in decoded_lines(handle, name):
        if not line.strip():
            continue
        parts = line.rstrip("\r\n").split("\t")
        if len(parts) != 2 or not parts[0].strip() or not parts[1].strip():
            raise EngineError(f"{name}:{line_no}: expected `qid<TAB>query`")
        qid = parts[0].strip()
        if any(char.isspace() for char in qid):
            raise EngineError(f"{name}:{line_no}: query id {qid!r} contains whitespace, which a TREC run cannot hold")
        if qid in line_of:
            raise EngineError(f"{name}:{line_no}: query id {qid!r} repeats line {line_of[qid]}")
        line_of[qid] = line_no
        qids.append(qid)
        texts.append(parts[1].strip())
    if not qids:
        raise EngineError(f"{name}: no queries")
    return qids, texts

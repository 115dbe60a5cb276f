"""Request bodies -> checked requests. Every mistake is a RequestError naming the field (`param`)
and the HTTP status, in OpenAI's error shape, so that its client and ours report it the same way."""

from __future__ import annotations

import json
from dataclasses import dataclass

from engine.corpus import Passage, passage_from_record
from engine.errors import EngineError
from engine.jsonl import parse_json
from engine.languages import check_language_code
from engine.serve.settings import Limits
from engine.text_lines import is_valid_unicode

ENCODING_FORMATS = ("float", "base64")
INPUT_TYPES = ("query", "passage")


class RequestError(Exception):
    def __init__(self, status: int, message: str, param: str | None = None, kind: str = "invalid_request_error",
                 headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.param, self.kind = status, message, param, kind
        self.headers = headers or {}

    def body(self) -> dict:
        return {"error": {"message": self.message, "type": self.kind, "param": self.param, "code": None}}


@dataclass(frozen=True)
class SearchParams:
    k: int = 10
    languages: tuple[str, ...] | None = None
    ef: int | None = None
    rescore: bool = False
    with_text: bool = True

    def batch_key(self) -> tuple:
        """Queries whose params share this key are answered by one graph search (text is fetched for all)."""
        return self.k, self.languages, self.ef, self.rescore


@dataclass(frozen=True)
class SearchRequest:
    queries: list[str]
    params: SearchParams


@dataclass(frozen=True)
class EmbeddingsRequest:
    model: str
    texts: list[str]
    encoding_format: str
    input_type: str
    dimensions: int | None


def parse_body(raw: bytes) -> dict:
    if not raw.strip():
        raise RequestError(400, "the request body is empty: send a JSON object")
    try:
        body = parse_json(raw)
    except RecursionError:
        raise RequestError(400, "the request body is JSON nested too deeply to read") from None
    except ValueError as err:  # JSONDecodeError, bad UTF-8, NaN or Infinity
        raise RequestError(400, f"the request body is not valid JSON: {err}") from None
    if not isinstance(body, dict):
        raise RequestError(400, f"the request body must be a JSON object, got {_json_type(body)}")
    return body


def search_request(body: dict, limits: Limits) -> SearchRequest:
    _refuse_unknown(body, {"queries", "k", "languages", "ef", "rescore", "with_text"})
    queries = _texts(body, "queries", limits, limits.max_queries)
    k = _integer(body, "k", 10, maximum=limits.max_k)
    ef = _integer(body, "ef", None)
    languages = body.get("languages")
    if languages is not None:
        if not isinstance(languages, list) or not languages or not all(isinstance(code, str) for code in languages):
            raise RequestError(400, "'languages' must be a non-empty list of language codes, or null", "languages")
        for code in languages:
            try:
                check_language_code(code, "languages")
            except EngineError as err:
                raise RequestError(400, str(err), "languages") from None
        languages = tuple(languages)
    params = SearchParams(k=k, languages=languages, ef=ef, rescore=_flag(body, "rescore", False),
                          with_text=_flag(body, "with_text", True))
    return SearchRequest(queries, params)


def embeddings_request(body: dict, limits: Limits) -> EmbeddingsRequest:
    """OpenAI's embeddings request, plus `input_type` (query or passage: which prefix the model gets)."""
    _refuse_unknown(body, {"model", "input", "encoding_format", "dimensions", "user", "input_type"})
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise RequestError(400, "'model' must name a served model (GET /v1/models lists them)", "model")
    raw = body.get("input")
    if isinstance(raw, str):
        body = {**body, "input": [raw]}
    elif isinstance(raw, list) and raw and not isinstance(raw[0], str):
        raise RequestError(400, "'input' must be a string or a list of strings; token ids are not accepted", "input")
    texts = _texts(body, "input", limits, limits.max_queries)
    encoding_format = body.get("encoding_format") or "float"
    if encoding_format not in ENCODING_FORMATS:
        raise RequestError(400, f"'encoding_format' must be one of {', '.join(ENCODING_FORMATS)}, got "
                                f"{encoding_format!r}", "encoding_format")
    input_type = body.get("input_type") or "query"
    if input_type not in INPUT_TYPES:
        raise RequestError(400, f"'input_type' must be one of {', '.join(INPUT_TYPES)}, got {input_type!r}",
                           "input_type")
    return EmbeddingsRequest(model, texts, encoding_format, input_type, _integer(body, "dimensions", None))


def add_request(body: dict, limits: Limits) -> list[Passage]:
    """`passages`: objects in the corpus JSONL shape (id, text, optional title, lang, extra fields)."""
    _refuse_unknown(body, {"passages", "lang"})
    default_lang = body.get("lang")
    if default_lang is not None:
        if not isinstance(default_lang, str):
            raise RequestError(400, "'lang' must be a language code", "lang")
        try:
            check_language_code(default_lang, "lang")
        except EngineError as err:
            raise RequestError(400, str(err), "lang") from None
    records = _list(body, "passages", limits.max_passages)
    passages, first_seen = [], {}
    for number, record in enumerate(records):
        where = f"passages[{number}]"
        if not isinstance(record, dict):
            raise RequestError(400, f"{where}: expected a JSON object, got {_json_type(record)}", where)
        try:
            passage = passage_from_record(record, where, default_lang)
        except EngineError as err:
            raise RequestError(400, str(err), where) from None
        if len(passage.text) + len(passage.title) > limits.max_text_chars:
            raise RequestError(400, f"{where}: text of {len(passage.text) + len(passage.title)} characters is over "
                                    f"the limit of {limits.max_text_chars}", where)
        if passage.id in first_seen:
            raise RequestError(400, f"{where}: duplicate id {passage.id!r} (first in passages[{first_seen[passage.id]}])",
                               where)
        first_seen[passage.id] = number
        passages.append(passage)
    return passages


def delete_request(body: dict, limits: Limits) -> list[str]:
    _refuse_unknown(body, {"ids"})
    ids = _list(body, "ids", limits.max_passages)
    for number, passage_id in enumerate(ids):
        if not isinstance(passage_id, str) or not passage_id:
            raise RequestError(400, f"ids[{number}] must be a non-empty string", f"ids[{number}]")
    return ids


def _refuse_unknown(body: dict, known: set[str]) -> None:
    unknown = sorted(set(body) - known)
    if unknown:
        raise RequestError(400, f"unknown field {unknown[0]!r} (this endpoint takes: {', '.join(sorted(known))})",
                           unknown[0])


def _list(body: dict, name: str, most: int) -> list:
    value = body.get(name)
    if not isinstance(value, list) or not value:
        raise RequestError(400, f"'{name}' must be a non-empty list", name)
    if len(value) > most:
        raise RequestError(400, f"'{name}' holds {len(value)} items, over the limit of {most} per request", name)
    return value


def _texts(body: dict, name: str, limits: Limits, most: int) -> list[str]:
    texts = _list(body, name, most)
    for number, text in enumerate(texts):
        where = f"{name}[{number}]"
        if not isinstance(text, str):
            raise RequestError(400, f"{where} must be a string, got {_json_type(text)}", where)
        if not text.strip():
            raise RequestError(400, f"{where} is empty", where)
        if len(text) > limits.max_text_chars:
            raise RequestError(400, f"{where} has {len(text)} characters, over the limit of {limits.max_text_chars}",
                               where)
        if not is_valid_unicode(text):
            raise RequestError(400, f"{where} holds an unpaired surrogate escape (not valid Unicode text)", where)
    return texts


def _integer(body: dict, name: str, default, maximum: int | None = None):
    value = body.get(name, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise RequestError(400, f"'{name}' must be a positive integer, got {json.dumps(value)}", name)
    if maximum is not None and value > maximum:
        raise RequestError(400, f"'{name}' is {value}, over the limit of {maximum}", name)
    return value


def _flag(body: dict, name: str, default: bool) -> bool:
    value = body.get(name, default)
    if not isinstance(value, bool):
        raise RequestError(400, f"'{name}' must be true or false, got {json.dumps(value)}", name)
    return value


def _json_type(value) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")

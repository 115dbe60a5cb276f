"""A small Python client for `engine serve` (over httpx): search, embed, add, delete, info.

    with EngineClient("http://127.0.0.1:8000", api_key="...") as client:
        hits = client.search("wiki", ["Wie hoch ist der Kilimandscharo?"], k=5)[0]
        vectors = client.embed(["passage text"], input_type="passage")

A refused request raises ServiceError with the HTTP status and the field the service named."""

from __future__ import annotations

import base64

import httpx
import numpy as np

from engine.corpus import Passage
from engine.errors import EngineError
from engine.search import Hit


class ServiceError(EngineError):
    def __init__(self, status: int, message: str, param: str | None = None):
        super().__init__(f"HTTP {status}: {message}")
        self.status, self.param = status, param


class EngineClient:
    def __init__(self, base_url: str = "http://127.0.0.1:8000", api_key: str | None = None, timeout: float = 60.0):
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(base_url=base_url, headers=headers, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> EngineClient:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def search(self, index: str, queries: list[str], k: int = 10, languages: list[str] | None = None,
               ef: int | None = None, rescore: bool = False, with_text: bool = True) -> list[list[Hit]]:
        body = {"queries": list(queries), "k": k, "languages": languages, "ef": ef, "rescore": rescore,
                "with_text": with_text}
        reply = self._call("POST", f"/indexes/{index}/search", body)
        return [[Hit(**hit) for hit in result["hits"]] for result in reply["results"]]

    def embed(self, texts: list[str], input_type: str = "query", model: str = "default") -> np.ndarray:
        """float32 (len(texts), dimension), in input order."""
        reply = self._call("POST", "/v1/embeddings", {"model": model, "input": list(texts),
                                                      "encoding_format": "base64", "input_type": input_type})
        rows = sorted(reply["data"], key=lambda item: item["index"])
        return np.stack([np.frombuffer(base64.b64decode(row["embedding"]), dtype="<f4") for row in rows])

    def add(self, index: str, passages: list[Passage | dict], lang: str | None = None) -> dict:
        records = [_record(passage) for passage in passages]
        return self._call("POST", f"/indexes/{index}/passages", {"passages": records, **({"lang": lang} if lang else {})})

    def delete(self, index: str, ids: list[str]) -> dict:
        return self._call("DELETE", f"/indexes/{index}/passages", {"ids": list(ids)})

    def info(self, index: str | None = None) -> dict:
        """One index's manifest and languages, or (no name) {"indexes": [...]} for all."""
        return self._call("GET", f"/indexes/{index}" if index else "/indexes")

    def ready(self) -> bool:
        return self._http.get("/ready").status_code == 200

    def _call(self, method: str, path: str, body: dict | None = None) -> dict:
        try:
            response = self._http.request(method, path, json=body)
        except httpx.HTTPError as err:
            raise EngineError(f"cannot reach the engine service at {self._http.base_url}: {err}") from None
        if response.status_code >= 400:
            try:
                error = response.json()["error"]
                raise ServiceError(response.status_code, error["message"], error.get("param"))
            except (ValueError, KeyError, TypeError):
                raise ServiceError(response.status_code, response.text[:200]) from None
        return response.json()


def _record(passage: Passage | dict) -> dict:
    if isinstance(passage, dict):
        return passage
    record = {"id": passage.id, "text": passage.text, "title": passage.title, "lang": passage.lang}
    return {**passage.extra, **record}

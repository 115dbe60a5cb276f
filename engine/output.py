"""How search results and index facts are shown: text, JSON, TREC run files."""

from __future__ import annotations

from engine.errors import EngineError
from engine.index import Index

SNIPPET = 110


def check_trec_field(value: str, what: str) -> None:
    """A TREC run line is six whitespace-separated fields: none of them may hold whitespace."""
    if not value or any(char.isspace() for char in value):
        raise EngineError(f"{what} {value!r} is empty or contains whitespace, which a TREC run line cannot hold")


def write_trec_run(out, qids, results, tag: str) -> None:
    """`qid Q0 docid rank score tag` lines; checked before the first line is written."""
    check_trec_field(tag, "run tag")
    for qid, hits in zip(qids, results):
        check_trec_field(qid, "query id")
        for hit in hits:
            check_trec_field(hit.id, "passage id")
    for qid, hits in zip(qids, results):
        for rank, hit in enumerate(hits, start=1):
            out.write(f"{qid} Q0 {hit.id} {rank} {hit.score:.6f} {tag}\n")


def hit_json(hit) -> dict:
    """A hit as `engine search --json` and the service show it."""
    return {"id": hit.id, "score": hit.score, "lang": hit.lang, "title": hit.title, "text": hit.text,
            "extra": hit.extra}


def results_json(queries, hit_rows: list[list[dict]], seconds: float) -> dict:
    """`hit_rows`: one list of `hit_json` objects per query."""
    return {
        "latency_ms": round(seconds * 1000, 2),
        "results": [{"query": query, "hits": hits} for query, hits in zip(queries, hit_rows)],
    }


def results_text(queries, results, seconds: float) -> str:
    lines = []
    for query, hits in zip(queries, results):
        lines.append(f"query: {query}")
        for rank, hit in enumerate(hits, start=1):
            body = f"{hit.title}: {hit.text}" if hit.title else hit.text
            if len(body) > SNIPPET:
                body = body[:SNIPPET - 1] + "…"
            lines.append(f"  {rank:>2}. {hit.score:.4f} [{hit.lang}] {hit.id}  {body}")
    per_query = seconds * 1000 / max(len(queries), 1)
    lines.append(f"{len(queries)} quer{'y' if len(queries) == 1 else 'ies'} in {seconds * 1000:.1f} ms "
                 f"({per_query:.1f} ms per query, encoding included)")
    return "\n".join(lines)


def index_info(index: Index) -> str:
    manifest = index.manifest
    model, hnsw = manifest["model"], manifest["hnsw"]
    size = sum(entry["size"] for entry in manifest["files"].values())
    return "\n".join([
        f"index:      {index.path}",
        f"passages:   {manifest['count']} in {len(index.languages)} language(s): {', '.join(index.languages)}",
        f"model:      {model['source_model']} ({model['variant']}, dimension {model['dimension']})",
        f"bundle:     {model['bundle']}",
        f"fingerprint {model['fingerprint']}",
        f"hnsw:       M={hnsw['M']} ef_construction={hnsw['ef_construction']} ef_search={hnsw['ef_search']} "
        f"metric={manifest['metric']}",
        f"size:       {size / 1e6:.1f} MB on disk",
        f"created:    {manifest.get('created', '?')}" + (f", updated {manifest['updated']}" if "updated" in manifest else ""),
    ] + ([f"shards:     {len(manifest['shards'])} ({manifest['partition']['function']} of the id): "
          + ", ".join(f"{entry['dir']} {entry['count']}" for entry in manifest["shards"])]
         if "partition" in manifest else []))

"""The quickstart job: default bundle -> index over the bundled demo corpus -> sample searches."""

from __future__ import annotations

import time
from pathlib import Path

from engine.build import build_index
from engine.bundle import load_bundle
from engine.demo_data import demo_file, read_demo_queries
from engine.encoder import Encoder
from engine.errors import EngineError
from engine.index import open_index
from engine.output import results_text
from engine.paths import cache_dir
from engine.search import Searcher


def demo_index(encoder: Encoder, out: Path, quiet: bool) -> tuple[Searcher, str]:
    """Open the demo index at `out`, (re)building it when missing or made with another model."""
    try:
        index = open_index(out)
        index.check_model(encoder.bundle.fingerprint, str(encoder.bundle.path))
        return Searcher(index, encoder), f"{out}: reusing the demo index ({index.count} passages)"
    except EngineError:
        summary = build_index(demo_file("corpus.jsonl"), encoder, out, overwrite=out.exists(), quiet=quiet)
        return Searcher(summary.index, encoder), summary.describe()


def run_demo(model: str = "default", out: Path | None = None, k: int = 3, quiet: bool = False, echo=print) -> None:
    out = Path(out) if out else cache_dir() / "demo-index"
    started = time.perf_counter()
    bundle = load_bundle(model)
    encoder = Encoder(bundle)
    echo(f"model bundle {bundle.path} ({encoder.variant}, {', '.join(encoder.providers)}), "
         f"ready in {time.perf_counter() - started:.1f} s")
    searcher, how = demo_index(encoder, out, quiet)
    echo(how)
    searcher.search(["warm-up"], k=1)  # first call pays ONNX Runtime's one-off allocations
    for qid, lang, question in read_demo_queries():
        began = time.perf_counter()
        hits = searcher.search([question], k=k)
        echo(f"\n[{qid}, {lang}] " + results_text([question], hits, time.perf_counter() - began))
    question = read_demo_queries()[0][2]
    began = time.perf_counter()
    hits = searcher.search([question], k=k, languages=["sw", "yo"])
    echo("\nthe same question, only Swahili and Yoruba passages (--lang sw,yo):\n"
         + results_text([question], hits, time.perf_counter() - began))

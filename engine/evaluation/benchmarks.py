"""The benchmarks `engine eval` knows: their languages, settings, metrics and candidate texts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from engine.errors import EngineError
from engine.evaluation import flores, lareqa, miracl
from engine.evaluation.data import Benchmark
from engine.evaluation.mlqa_split import is_mlqa_evaluation_question
from engine.evaluation.sources import LAREQA_SOURCE, MIRACL_CORPUS_SOURCE, MIRACL_TOPICS_SOURCE, NOMIRACL_SOURCE

SETTINGS = ("mono", "cross", "multi")


@dataclass(frozen=True)
class BenchmarkSpec:
    name: str
    title: str
    languages: tuple[str, ...]
    settings: tuple[str, ...]
    metrics: tuple[str, ...]
    # candidate text variant -> the candidate fields joined into the encoded text; the first is the default
    texts: dict[str, tuple[str, ...]]
    load: Callable[[Path, list[str], int | None], Benchmark]
    default_languages: Callable[[Path], list[str]]
    layout: str  # what the data dir must hold, and where it comes from
    note: str = ""

    @property
    def default_text(self) -> str:
        return next(iter(self.texts))

    def check_settings(self, settings: list[str] | None) -> list[str]:
        if not settings:
            return list(self.settings)
        unknown = [name for name in settings if name not in self.settings]
        if unknown:
            raise EngineError(f"{self.name} has no setting {unknown[0]!r} (it has: {', '.join(self.settings)})")
        return [name for name in SETTINGS if name in settings]

    def check_text(self, text: str | None) -> str:
        text = text or self.default_text
        if text not in self.texts:
            raise EngineError(f"{self.name} has no candidate text {text!r} (choose from: {', '.join(self.texts)})")
        return text

    def check_languages(self, root: Path, languages: list[str] | None) -> list[str]:
        if not languages:
            found = self.default_languages(root)
            if not found:
                raise EngineError(f"{self.name}: no language of it has its data in {root}")
            return found
        unknown = [lang for lang in languages if lang not in self.languages]
        if unknown:
            raise EngineError(f"{self.name} has no language {unknown[0]!r} (it has: {', '.join(self.languages)})")
        return list(dict.fromkeys(languages))


LAREQA_TEXTS = {"sentence+context": ("sentence", "context"), "sentence": ("sentence",)}
LAREQA_METRICS = ("map", "recall@1", "recall@10")
MIRACL_TEXTS = {"title+text": ("title", "text"), "text": ("text",)}
MIRACL_METRICS = ("ndcg@10", "recall@100")

BENCHMARKS = {
    spec.name: spec for spec in (
        BenchmarkSpec("xquad-r", "XQuAD-R", lareqa.XQUAD_R_LANGUAGES, SETTINGS, LAREQA_METRICS, LAREQA_TEXTS,
                      partial(lareqa.load_lareqa, "xquad-r"), lambda root: list(lareqa.XQUAD_R_LANGUAGES),
                      f"xquad-r/<lang>.json ({LAREQA_SOURCE}, folder xquad-r)"),
        # Only the evaluation half of MLQA-R's questions: the other half may be trained on (engine/evaluation/mlqa_split.py).
        BenchmarkSpec("mlqa-r", "MLQA-R (evaluation half)", lareqa.MLQA_R_LANGUAGES, SETTINGS, LAREQA_METRICS,
                      LAREQA_TEXTS, partial(lareqa.load_lareqa, "mlqa-r", keep_query=is_mlqa_evaluation_question),
                      lambda root: list(lareqa.MLQA_R_LANGUAGES),
                      f"mlqa-r/<lang>.json ({LAREQA_SOURCE}, folder mlqa-r)"),
        BenchmarkSpec("miracl", "MIRACL dev", miracl.MIRACL_LANGUAGES, ("mono",), MIRACL_METRICS, MIRACL_TEXTS,
                      miracl.load_miracl, miracl.corpus_languages,
                      f"miracl/topics, miracl/qrels ({MIRACL_TOPICS_SOURCE}) and miracl/corpus/<lang>-feed.jsonl.zst "
                      f"({MIRACL_CORPUS_SOURCE})"),
        BenchmarkSpec("miracl-subset", "MIRACL-subset", miracl.MIRACL_LANGUAGES, ("mono",), MIRACL_METRICS,
                      MIRACL_TEXTS, miracl.load_miracl_subset, miracl.subset_languages,
                      f"miracl/topics, miracl/qrels ({MIRACL_TOPICS_SOURCE}) and "
                      f"miracl/nomiracl/nomiracl-passages.<lang>.jsonl.gz ({NOMIRACL_SOURCE})",
                      note="NOT MIRACL figures: the pool is the few thousand MIRACL passages per language "
                           "recovered from NoMIRACL and the queries are the dev queries with a positive inside "
                           "it; compare models with it, never with published MIRACL numbers"),
        # Bitext retrieval: a sentence's translation among every sentence of another language.
        BenchmarkSpec("flores200", "FLORES-200 dev (bitext retrieval)", tuple(flores.ENGINE_CODES), ("cross",),
                      LAREQA_METRICS, {"text": ("text",)}, flores.load_flores_benchmark, flores.flores_languages,
                      f"{flores.DATASET_DIR}/<FLORES code>/dev.tsv (SIB-200, https://github.com/dadelani/sib-200)",
                      note="cross: each sentence's translation among the 99 dev sentences of the other language"),
    )
}


def get_benchmark(name: str) -> BenchmarkSpec:
    if name not in BENCHMARKS:
        raise EngineError(f"unknown benchmark {name!r} (choose from: {', '.join(BENCHMARKS)})")
    return BENCHMARKS[name]

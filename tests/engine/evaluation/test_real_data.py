"""The loaders on the real shared data: the sizes the sources document."""

import pytest

from engine.evaluation.benchmarks import get_benchmark
from engine.evaluation.mlqa_split import is_mlqa_evaluation_question
from engine.evaluation.sources import data_root

pytestmark = pytest.mark.data

# LAReQA README: candidates per language (XQuAD-R 1,190 questions each).
XQUAD_R_CANDIDATES = {"ar": 1222, "de": 1276, "el": 1234, "en": 1180, "es": 1215, "hi": 1244, "ru": 1219,
                      "th": 852, "tr": 1167, "vi": 1209, "zh": 1196}
MLQA_R = {"ar": (517, 2545), "de": (512, 2362), "en": (1148, 6264), "es": (500, 1787), "hi": (507, 2426),
          "vi": (511, 2828), "zh": (504, 2322)}
# miracl/nomiracl/coverage_vs_miracl_qrels.tsv, column dev_queries_with_a_covered_pos
SUBSET_QUERIES = {"sw": 120, "te": 85, "bn": 65, "th": 66, "hi": 47, "fi": 26, "id": 144, "fa": 39, "yo": 53}


def load(name, languages=None):
    spec = get_benchmark(name)
    root = data_root(spec.layout)
    return spec.load(root, spec.check_languages(root, languages), None)


def test_xquad_r(shared_data):
    bench = load("xquad-r")
    assert {lang: len(bench.candidate_rows(lang)) for lang in bench.languages} == XQUAD_R_CANDIDATES
    assert all(len(bench.query_rows(lang)) == 1190 for lang in bench.languages)
    # 11-way parallel: every question has one relevant sentence in every language
    assert len(bench.qrels.candidate) == 11 * 11 * 1190 and (bench.qrels.candidate >= 0).all()


def test_mlqa_r_asks_only_its_evaluation_half(shared_data):
    bench = load("mlqa-r")
    assert {lang: len(bench.candidate_rows(lang)) for lang in bench.languages} == {
        lang: candidates for lang, (_, candidates) in MLQA_R.items()}
    for lang in bench.languages:
        asked = len(bench.query_rows(lang))
        assert 0.4 * MLQA_R[lang][0] < asked < 0.6 * MLQA_R[lang][0]
    assert all(is_mlqa_evaluation_question(qid.split("/", 1)[1]) for qid in bench.query_ids)
    relevant_per_question = set((bench.qrels.ptr[1:] - bench.qrels.ptr[:-1]).tolist())
    assert relevant_per_question == {2, 3, 4}


def test_miracl_yoruba(shared_data):
    bench = load("miracl")
    assert bench.languages == ["yo"]
    assert len(bench.candidate_ids) == 49043 and len(bench.query_ids) == 119
    assert (bench.qrels.candidate >= 0).all()


def test_miracl_subset(shared_data):
    bench = load("miracl-subset", list(SUBSET_QUERIES))
    assert {lang: len(bench.query_rows(lang)) for lang in bench.languages} == SUBSET_QUERIES
    assert (bench.qrels.candidate >= 0).all()  # judgements restricted to the pool

"""XQuAD-R and MLQA-R (LAReQA): SQuAD-style JSON with per-paragraph `sentences` and `sentence_breaks`.

Every sentence of every paragraph is a candidate (context: its paragraph). A question's relevant
candidate in a language is the sentence whose break span holds the answer start; a question is
joined across languages by its id, so in the multilingual pool it has one relevant sentence per
language it exists in.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Callable
from pathlib import Path

from engine.errors import EngineError
from engine.evaluation.data import Benchmark, Judgement, LanguagePart, assemble
from engine.evaluation.download import raw_url
from engine.evaluation.sources import LAREQA_REPOSITORY, LAREQA_SOURCE, require_file

XQUAD_R_LANGUAGES = ("ar", "de", "el", "en", "es", "hi", "ru", "th", "tr", "vi", "zh")
MLQA_R_LANGUAGES = ("ar", "de", "en", "es", "hi", "vi", "zh")


def load_lareqa(name: str, root: Path, languages: list[str], max_queries: int | None = None,
                keep_query: Callable[[str], bool] | None = None) -> Benchmark:
    """`name` is the dataset dir (xquad-r or mlqa-r) under the data root, holding `<lang>.json`.
    `keep_query(question id)` selects the questions asked; every sentence stays a candidate."""
    parts, answers = [], {}
    for lang in languages:
        path = require_file(root / name / f"{lang}.json", name, f"{LAREQA_SOURCE} ({name}/{lang}.json)",
                            raw_url(f"{LAREQA_REPOSITORY}/{name}/{lang}.json"))
        part, answers[lang] = read_lareqa_file(path, lang)
        if keep_query is not None:
            kept = [row for row, qid in enumerate(part.query_ids) if keep_query(qid)]
            part.query_ids = [part.query_ids[row] for row in kept]
            part.query_texts = [part.query_texts[row] for row in kept]
        parts.append(part)
    for part in parts:
        part.judgements = [
            [Judgement(lang, answers[lang][qid]) for lang in languages if qid in answers[lang]]
            for qid in part.query_ids
        ]
    return assemble(name, parts, max_queries)


def read_lareqa_file(path: Path, lang: str) -> tuple[LanguagePart, dict[str, str]]:
    """One language file: its candidates and questions, and the answer candidate id of each question."""
    try:
        articles = _get(json.loads(path.read_text(encoding="utf-8")), "data", path)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise EngineError(f"{path} is not valid JSON: {err}") from None
    part = LanguagePart(lang, candidate_fields={"sentence": [], "context": []})
    answers = {}
    paragraphs = (paragraph for article in articles for paragraph in _get(article, "paragraphs", path))
    for number, paragraph in enumerate(paragraphs):
        where = f"{path}, paragraph {number}"
        context = _get(paragraph, "context", where)
        sentences = _get(paragraph, "sentences", where)
        breaks = _get(paragraph, "sentence_breaks", where)
        if len(sentences) != len(breaks) or not sentences:
            raise EngineError(f"{where}: {len(sentences)} sentences but {len(breaks)} sentence_breaks")
        ids = [f"p{number}s{index}" for index in range(len(sentences))]
        part.candidate_ids.extend(ids)
        part.candidate_fields["sentence"].extend(sentences)
        part.candidate_fields["context"].extend([context] * len(sentences))
        starts = [start for start, _ in breaks]
        for question in _get(paragraph, "qas", where):
            qid = _get(question, "id", where)
            answer_list = _get(question, "answers", f"{where}, question {qid}")
            if not answer_list or qid in answers:
                raise EngineError(f"{where}: question {qid} has no answer or is listed twice")
            answer_start = _get(answer_list[0], "answer_start", f"{where}, question {qid}")
            sentence = bisect.bisect_right(starts, answer_start) - 1
            if sentence < 0 or answer_start >= breaks[sentence][1]:
                raise EngineError(f"{where}: the answer start {answer_start} of question {qid} "
                                  "falls in no sentence_breaks span")
            answers[qid] = ids[sentence]
            part.query_ids.append(qid)
            part.query_texts.append(_get(question, "question", where))
    if not part.query_ids:
        raise EngineError(f"{path} holds no questions")
    return part, answers


def _get(record, key: str, where):
    if not isinstance(record, dict) or key not in record:
        raise EngineError(f"{where}: missing field {key!r}")
    return record[key]

"""Where the top same-language hit of each XQuAD-R / MLQA-R question lands, read from `engine eval --out` files.

Every sentence of a paragraph is a candidate (ids `<lang>/p<paragraph>s<sentence>`), so a wrong top
hit is either another sentence of the answer's paragraph (the model found the passage but not the
sentence) or a sentence of another paragraph (it found the wrong passage).

    python -m engine.evaluation.top_hit_errors EVAL_OUT_DIR [EVAL_OUT_DIR ...]
"""

from __future__ import annotations

import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

from engine.errors import EngineError

CANDIDATE_ID = re.compile(r"^(?P<lang>[^/]+)/p(?P<paragraph>\d+)s\d+$")
OUTCOMES = ("answer sentence", "same paragraph", "other paragraph", "no same-language hit")


def top_hit_outcomes(run_path: Path, qrels_path: Path) -> Counter:
    """Count each question's outcome: its best-ranked candidate in its own language against its answers."""
    answers: dict[str, set[str]] = defaultdict(set)
    for number, fields in _rows(qrels_path, 4):
        if not fields[3].lstrip("-").isdigit():
            raise EngineError(f"{qrels_path}, line {number}: relevance {fields[3]!r} is not an integer")
        if int(fields[3]) > 0:
            answers[fields[0]].add(_check_id(fields[2], qrels_path, number))
    top_hit: dict[str, str] = {}
    for number, fields in _rows(run_path, 6):
        query, candidate = fields[0], _check_id(fields[2], run_path, number)
        if query not in top_hit and _lang(candidate) == _lang(query):
            top_hit[query] = candidate
    outcomes = Counter()
    for query, relevant in answers.items():
        own = {candidate for candidate in relevant if _lang(candidate) == _lang(query)}
        if not own:
            continue  # a question asked in a language without its answer has no monolingual outcome
        hit = top_hit.get(query)
        if hit is None:
            outcomes["no same-language hit"] += 1
        elif hit in own:
            outcomes["answer sentence"] += 1
        elif _paragraph(hit) in {_paragraph(candidate) for candidate in own}:
            outcomes["same paragraph"] += 1
        else:
            outcomes["other paragraph"] += 1
    return outcomes


def eval_out_files(out_dir: Path) -> tuple[Path, Path]:
    runs, qrels = sorted(Path(out_dir).glob("*.trec")), sorted(Path(out_dir).glob("*.qrels"))
    if len(runs) != 1 or len(qrels) != 1:
        raise EngineError(f"{out_dir}: expected one .trec and one .qrels file from `engine eval --out`, "
                          f"found {len(runs)} and {len(qrels)}")
    return runs[0], qrels[0]


def _rows(path: Path, width: int):
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            fields = line.split()
            if len(fields) != width:
                raise EngineError(f"{path}, line {number}: expected {width} fields, found {len(fields)}")
            yield number, fields


def _check_id(candidate: str, path: Path, number: int) -> str:
    if not CANDIDATE_ID.match(candidate):
        raise EngineError(f"{path}, line {number}: {candidate!r} is not an XQuAD-R / MLQA-R sentence id "
                          "(<lang>/p<paragraph>s<sentence>)")
    return candidate


def _lang(text_id: str) -> str:
    """Query and candidate ids both start with their language: `<lang>/...`."""
    return text_id.split("/")[0]


def _paragraph(candidate: str) -> tuple[str, str]:
    match = CANDIDATE_ID.match(candidate)
    return match["lang"], match["paragraph"]


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    print("run | questions | " + " | ".join(OUTCOMES))
    try:
        for out_dir in argv:
            outcomes = top_hit_outcomes(*eval_out_files(Path(out_dir)))
            total = sum(outcomes.values())
            shares = " | ".join(f"{outcomes[name] / total:.3f}" if total else "-" for name in OUTCOMES)
            print(f"{Path(out_dir).name} | {total} | {shares}")
    except EngineError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Which MLQA-R questions may be trained on: a fixed, stateless split by question id.

MLQA-R has only a dev set, so it is cut in two: a question belongs to the evaluation half when the
first 32 bits of SHA-256(question id, UTF-8) are odd, else to the training half. The split needs no
file, never changes, and is the same in every language (ids are shared across languages), so the
evaluation can import `mlqa_split` and keep only the "eval" questions.
"""

from __future__ import annotations

import hashlib

TRAIN = "train"
EVAL = "eval"


def mlqa_split(question_id: str) -> str:
    digest = hashlib.sha256(question_id.encode("utf-8")).digest()
    return EVAL if int.from_bytes(digest[:4], "big") % 2 else TRAIN


def is_mlqa_evaluation_question(question_id: str) -> bool:
    return mlqa_split(question_id) == EVAL

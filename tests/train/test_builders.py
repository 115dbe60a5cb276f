import json
from pathlib import Path

import pytest

from engine.errors import EngineError
from engine.evaluation.lareqa import XQUAD_R_LANGUAGES, read_lareqa_file
from engine.evaluation.mlqa_split import EVAL, TRAIN, mlqa_split
from train.builders import NTREX_LANGUAGES, mlqa_r_pair_groups, ntrex_cloze_pair_groups
from train.pairs import Pair


def test_mlqa_split_is_fixed_and_about_half():
    ids = [f"question-{n}" for n in range(2000)]
    assert [mlqa_split(qid) for qid in ids] == [mlqa_split(qid) for qid in ids]
    assert 900 < sum(mlqa_split(qid) == EVAL for qid in ids) < 1100
    assert {mlqa_split(qid) for qid in ids} == {TRAIN, EVAL}


def _write_mlqa(root: Path, lang: str, questions: dict[str, str]):
    sentences = [f"{lang} first.", f"{lang} second."]
    paragraph = {"context": " ".join(sentences), "sentences": sentences, "sentence_breaks": [[0, 9], [10, 20]],
                 "qas": [{"id": qid, "question": text, "answers": [{"text": "second", "answer_start": 10}]}
                         for qid, text in questions.items()]}
    (root / "mlqa-r").mkdir(parents=True, exist_ok=True)
    (root / "mlqa-r" / f"{lang}.json").write_text(json.dumps({"data": [{"paragraphs": [paragraph]}]}), "utf-8")


def test_mlqa_groups_join_languages_and_keep_one_half(tmp_path):
    train_id = next(f"q{n}" for n in range(100) if mlqa_split(f"q{n}") == TRAIN)
    eval_id = next(f"q{n}" for n in range(100) if mlqa_split(f"q{n}") == EVAL)
    _write_mlqa(tmp_path, "en", {train_id: "Which?", "other": "Other?"})
    _write_mlqa(tmp_path, "de", {train_id: "Welche?"})
    groups = {group.group: group for group in mlqa_r_pair_groups(tmp_path, TRAIN, ("en", "de"))}
    assert groups[f"mlqa-r/{train_id}"].languages == ["en", "de"]
    assert groups[f"mlqa-r/{train_id}"].pairs["de"].positive == "de second. de first. de second."
    # An evaluation question answered by the same sentence takes that passage out of training.
    _write_mlqa(tmp_path, "en", {train_id: "Which?", eval_id: "Eval?"})
    assert list(mlqa_r_pair_groups(tmp_path, TRAIN, ("en", "de"))[0].pairs) == ["de"]
    assert [g.group for g in mlqa_r_pair_groups(tmp_path, EVAL, ("en", "de"))] == [f"mlqa-r/{eval_id}"]


def test_mlqa_missing_file_and_bad_split(tmp_path):
    with pytest.raises(EngineError, match="mlqa-r/en.json is missing"):
        mlqa_r_pair_groups(tmp_path, TRAIN, ("en",))
    with pytest.raises(EngineError, match="unknown MLQA-R split"):
        mlqa_r_pair_groups(tmp_path, "test")


def _write_ntrex(root: Path, documents: list[str]):
    folder = root / "ntrex128"
    folder.mkdir(parents=True)
    (folder / "DOCUMENT_IDS.tsv").write_text("\n".join(documents) + "\n", "utf-8")
    for code in NTREX_LANGUAGES:
        name = "newstest2019-src.eng.txt" if code == "eng" else f"newstest2019-ref.{code}.txt"
        (folder / name).write_text("".join(f"{code} {n}\n" for n in range(len(documents))), "utf-8")


def test_ntrex_cloze_windows_stay_inside_documents(tmp_path):
    _write_ntrex(tmp_path, ["a", "a", "a", "a", "b", "c", "c"])
    groups = {group.group: group for group in ntrex_cloze_pair_groups(tmp_path, window=1)}
    assert "ntrex128/5" not in groups  # a one-sentence document has no context
    assert len(groups["ntrex128/2"].pairs) == 22
    assert groups["ntrex128/2"].pairs["zh"] == Pair("zho-CN 1", "zho-CN 0 zho-CN 2")
    assert groups["ntrex128/4"].pairs["yo"].positive == "yor 2"
    assert groups["ntrex128/6"].pairs["en"].positive == "eng 6"


def test_ntrex_misaligned_file(tmp_path):
    _write_ntrex(tmp_path, ["a", "a"])
    (tmp_path / "ntrex128" / "newstest2019-ref.swa.txt").write_text("one line\n", "utf-8")
    with pytest.raises(EngineError, match="swa.txt has 1 lines but DOCUMENT_IDS.tsv has 2"):
        ntrex_cloze_pair_groups(tmp_path)
    with pytest.raises(EngineError, match="window must be at least 1"):
        ntrex_cloze_pair_groups(tmp_path, window=0)


@pytest.mark.data
def test_training_data_never_holds_evaluation_text(shared_data):
    training = mlqa_r_pair_groups(shared_data) + ntrex_cloze_pair_groups(shared_data)
    queries = {pair.query for group in training for pair in group.pairs.values()}
    passages = {pair.positive for group in training for pair in group.pairs.values()}
    held_out_queries, held_out_passages = set(), set()
    for group in mlqa_r_pair_groups(shared_data, EVAL):
        held_out_queries.update(pair.query for pair in group.pairs.values())
        held_out_passages.update(pair.positive for pair in group.pairs.values())
    for lang in XQUAD_R_LANGUAGES:
        part, _ = read_lareqa_file(shared_data / "xquad-r" / f"{lang}.json", lang)
        held_out_queries.update(part.query_texts)
        fields = part.candidate_fields
        held_out_passages.update(fields["context"])
        held_out_passages.update(f"{s} {c}" for s, c in zip(fields["sentence"], fields["context"]))
    assert len(training) > 2000
    assert not queries & held_out_queries
    assert not passages & held_out_passages

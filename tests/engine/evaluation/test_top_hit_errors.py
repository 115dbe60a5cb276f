import pytest

from engine.errors import EngineError
from engine.evaluation.top_hit_errors import eval_out_files, main, top_hit_outcomes

# Four questions asked in English, answers in English and German; q4 has no German answer.
QRELS = """en/q1 0 en/p0s1 1
en/q1 0 de/p0s1 1
en/q2 0 en/p0s0 1
en/q3 0 en/p1s0 1
de/q3 0 de/p1s0 1
de/q4 0 en/p2s0 1
en/q5 0 en/p3s0 0
"""
# q1: answer sentence first in English (a German hit ranked above it does not count);
# q2: another sentence of the answer's paragraph; q3 (en): another paragraph;
# q3 (de): no German hit at all; q4 (de) has no German answer and is left out.
RUN = """en/q1 Q0 de/p0s0 1 0.9 t
en/q1 Q0 en/p0s1 2 0.8 t
en/q2 Q0 en/p0s2 1 0.9 t
en/q2 Q0 en/p0s0 2 0.8 t
en/q3 Q0 en/p2s0 1 0.9 t
de/q3 Q0 en/p1s0 1 0.9 t
de/q4 Q0 en/p2s0 1 0.9 t
"""


def write_out_dir(path, run=RUN, qrels=QRELS):
    path.mkdir()
    (path / "xquad-r-int8.trec").write_text(run, encoding="utf-8")
    (path / "xquad-r-int8.qrels").write_text(qrels, encoding="utf-8")
    return path


def test_each_question_gets_the_outcome_of_its_top_same_language_hit(tmp_path):
    outcomes = top_hit_outcomes(*eval_out_files(write_out_dir(tmp_path / "run")))
    assert outcomes == {"answer sentence": 1, "same paragraph": 1, "other paragraph": 1, "no same-language hit": 1}


def test_main_prints_shares_per_run_dir(tmp_path, capsys):
    assert main([str(write_out_dir(tmp_path / "hybrid"))]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "hybrid | 4 | 0.250 | 0.250 | 0.250 | 0.250"


def test_a_dir_without_eval_files_is_refused(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    with pytest.raises(EngineError, match="one .trec and one .qrels"):
        eval_out_files(tmp_path / "empty")
    assert main([str(tmp_path / "empty")]) == 1
    assert "error:" in capsys.readouterr().err


@pytest.mark.parametrize("run, message", [
    ("en/q1 Q0 en/p0s1 1 0.9\n", "line 1: expected 6 fields, found 5"),
    ("en/q1 Q0 en/p0s1 1 0.9 t\nen/q2 Q0 doc-7 1 0.9 t\n", "line 2: 'doc-7' is not an XQuAD-R / MLQA-R sentence id"),
])
def test_malformed_run_files_name_the_line(tmp_path, run, message):
    with pytest.raises(EngineError, match=message):
        top_hit_outcomes(*eval_out_files(write_out_dir(tmp_path / "bad", run=run)))


def test_a_non_integer_relevance_names_the_qrels_line(tmp_path):
    with pytest.raises(EngineError, match="line 2: relevance 'high' is not an integer"):
        qrels = "en/q1 0 en/p0s1 1\nen/q2 0 en/p0s0 high\n"
        top_hit_outcomes(*eval_out_files(write_out_dir(tmp_path / "bad", qrels=qrels)))

import json

import pytest

from engine.errors import EngineError
from train.pairs import Pair, PairGroup, read_pair_groups, write_pair_groups

GROUPS = [
    PairGroup("g1", {"en": Pair("who?", "him", ("not him",)), "de": Pair("wer?", "er")}),
    PairGroup("g2", {"sw": Pair("nani?", "yeye")}),
]


def test_round_trip(tmp_path):
    path = tmp_path / "pairs.jsonl"
    assert write_pair_groups(path, GROUPS) == 2
    assert read_pair_groups(path) == GROUPS
    assert "negatives" not in json.loads(path.read_text(encoding="utf-8").splitlines()[1])["pairs"]["sw"]


def _line(**pairs):
    return json.dumps({"group": "g", "pairs": pairs})


@pytest.mark.parametrize("line, message", [
    ("{not json", "bad.jsonl:2: malformed JSON"),
    ('["a list"]', "bad.jsonl:2: expected a JSON object"),
    (json.dumps({"pairs": {"en": {"query": "q", "positive": "p"}}}), "bad.jsonl:2: missing field 'group'"),
    (json.dumps({"group": "g"}), "bad.jsonl:2: missing field 'pairs'"),
    (_line(), "bad.jsonl:2: group 'g' has no pairs"),
    (_line(xx={"query": "q", "positive": "p"}), "unknown language code 'xx'"),
    (_line(en={"positive": "p"}), "bad.jsonl:2, pairs.en: missing field 'query'"),
    (_line(en={"query": " ", "positive": "p"}), "bad.jsonl:2, pairs.en: field 'query' is empty"),
    (_line(en={"query": "q", "positive": ""}), "bad.jsonl:2, pairs.en: field 'positive' is empty"),
    (_line(en={"query": "q", "positive": "p", "negatives": "n"}), "'negatives' must be a list"),
    (_line(en={"query": "q", "positive": "p", "negatives": [""]}), "negatives[0] is empty"),
    (json.dumps({"group": "g1", "pairs": {"en": {"query": "q", "positive": "p"}}}), "already given on line 1"),
])
def test_malformed_lines_name_file_and_line(tmp_path, line, message):
    path = tmp_path / "bad.jsonl"
    path.write_text(_line(en={"query": "q", "positive": "p"}).replace('"g"', '"g1"') + "\n" + line + "\n",
                    encoding="utf-8")
    with pytest.raises(EngineError, match="bad.jsonl") as error:
        read_pair_groups(path)
    assert message in str(error.value)


def test_empty_and_missing_files(tmp_path):
    (tmp_path / "empty.jsonl").write_text("\n", encoding="utf-8")
    with pytest.raises(EngineError, match="holds no pair groups"):
        read_pair_groups(tmp_path / "empty.jsonl")
    with pytest.raises(EngineError, match="cannot read training data"):
        read_pair_groups(tmp_path / "missing.jsonl")

"""Translation groups on disk: round trip, validation errors naming the line, language restriction."""

import pytest

from engine.errors import EngineError
from train.translations import TranslationGroup, read_translation_groups, restrict_languages, write_translation_groups

GROUPS = [TranslationGroup("g1", {"en": "Water is life.", "sw": "Maji ni uhai."}),
          TranslationGroup("g2", {"en": "Good morning.", "yo": "E kaaro.", "sw": "Habari za asubuhi."})]


def test_round_trip(tmp_path):
    path = tmp_path / "align.jsonl"
    assert write_translation_groups(path, GROUPS) == 2
    assert read_translation_groups(path) == GROUPS


@pytest.mark.parametrize("line, message", [
    ('{"sentences": {"en": "a", "sw": "b"}}', r":2: missing or empty field 'group'"),
    ('{"group": "g1", "sentences": {"en": "a", "sw": "b"}}', r":2: group 'g1' was already given on line 1"),
    ('{"group": "g3", "sentences": {"en": "a"}}', r":2: field 'sentences' must be an object with two or more"),
    ('{"group": "g3", "pairs": {"en": {"query": "q", "positive": "p"}}}', r"is this a pair-group file"),
    ('{"group": "g3", "sentences": {"en": "a", "xx": "b"}}', r":2: unknown language code 'xx'"),
    ('{"group": "g3", "sentences": {"en": "a", "sw": " "}}', r":2: sentences.sw is empty or not a string"),
    ('{"group": "g3", "sentences": {"en": "a", "sw": 5}}', r":2: sentences.sw is empty or not a string"),
    ('{"group": "g3", "sentences": ', r":2: malformed JSON"),
])
def test_bad_lines_are_named(tmp_path, line, message):
    path = tmp_path / "align.jsonl"
    path.write_text('{"group": "g1", "sentences": {"en": "a", "sw": "b"}}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(EngineError, match=message):
        read_translation_groups(path)


def test_an_empty_file_is_refused(tmp_path):
    (tmp_path / "empty.jsonl").write_text("\n", encoding="utf-8")
    with pytest.raises(EngineError, match="holds no translation groups"):
        read_translation_groups(tmp_path / "empty.jsonl")


def test_restricting_languages_drops_groups_left_with_one():
    kept = restrict_languages(GROUPS, ["en", "yo"], "test data")
    assert kept == [TranslationGroup("g2", {"en": "Good morning.", "yo": "E kaaro."})]
    assert restrict_languages(GROUPS, None, "test data") is GROUPS
    with pytest.raises(EngineError, match="test data has no parallel sentences in 'te'"):
        restrict_languages(GROUPS, ["en", "te"], "test data")

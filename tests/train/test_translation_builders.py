"""Translation groups from FLORES-200, NTREX-128 and Tatoeba files (hand-made, and the shared data)."""

import pytest

from engine.errors import EngineError
from engine.evaluation.lareqa import MLQA_R_LANGUAGES, XQUAD_R_LANGUAGES
from tests.engine.evaluation.conftest import FLORES_SENTENCES, write_flores
from train.builders import NTREX_LANGUAGES
from train.translation_builders import tatoeba_language, translation_groups

LONG_TAIL = ("yo", "sw", "te", "bn", "th", "hi")


def _write_tatoeba(root, code, pairs):
    folder = root / "tatoeba"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"tatoeba.{code}-eng.eng").write_text("".join(en + "\n" for en, _ in pairs), encoding="utf-8")
    (folder / f"tatoeba.{code}-eng.{code}").write_text("".join(other + "\n" for _, other in pairs), encoding="utf-8")


def test_flores_groups_join_languages_by_index_id(tmp_path):
    write_flores(tmp_path)
    groups = translation_groups(["flores200"], tmp_path, ["en", "yo"], "dev")
    assert [group.group for group in groups] == ["flores200/dev/3", "flores200/dev/7", "flores200/dev/9"]
    assert groups[0].sentences == {"en": FLORES_SENTENCES["eng_Latn"][0], "yo": FLORES_SENTENCES["yor_Latn"][0]}


def test_tatoeba_pairs_are_groups_of_two_with_engine_codes(tmp_path):
    _write_tatoeba(tmp_path, "swh", [("Water is life.", "Maji ni uhai."), ("", "Tupu.")])
    _write_tatoeba(tmp_path, "cmn", [("Hello.", "你好。")])
    groups = translation_groups(["tatoeba"], tmp_path)
    assert {group.group: group.sentences for group in groups} == {
        "tatoeba/cmn/1": {"en": "Hello.", "zh": "你好。"}, "tatoeba/swh/1": {"en": "Water is life.", "sw": "Maji ni uhai."}}
    assert [tatoeba_language(code) for code in ("swh", "ara", "kas", "tzl")] == ["sw", "ar", "ks", "tzl"]


def test_misaligned_tatoeba_files_are_named(tmp_path):
    _write_tatoeba(tmp_path, "swh", [("One.", "Moja.")])
    (tmp_path / "tatoeba" / "tatoeba.swh-eng.swh").write_text("Moja.\nMbili.\n", encoding="utf-8")
    with pytest.raises(EngineError, match=r"tatoeba.swh-eng.swh has 2 lines but .*tatoeba.swh-eng.eng has 1"):
        translation_groups(["tatoeba"], tmp_path)


def test_a_language_no_source_has_is_an_error_and_one_some_have_is_kept(tmp_path):
    write_flores(tmp_path)
    _write_tatoeba(tmp_path, "lat", [("Water is life.", "Aqua vita est.")])  # Latin: in no FLORES row
    with pytest.raises(EngineError, match="flores200 \\+ tatoeba has no parallel sentences in 'tlh'"):
        translation_groups(["flores200", "tatoeba"], tmp_path, ["en", "tlh"])
    groups = translation_groups(["flores200", "tatoeba"], tmp_path, ["en", "yo", "la"])
    assert len(groups) == 4 and groups[-1].sentences == {"en": "Water is life.", "la": "Aqua vita est."}


@pytest.mark.data
def test_the_shared_data_covers_the_long_tail_and_every_benchmark_language(shared_data):
    wanted = sorted({*LONG_TAIL, *XQUAD_R_LANGUAGES, *MLQA_R_LANGUAGES})
    flores = translation_groups(["flores200"], shared_data, wanted, "train")
    assert len(flores) == 701 and all(set(group.sentences) == set(wanted) for group in flores)
    assert len(translation_groups(["flores200"], shared_data, wanted, "dev")) == 99
    ntrex = translation_groups(["ntrex128-bitext"], shared_data)
    assert len(ntrex) == 1997 and set(ntrex[0].sentences) == set(NTREX_LANGUAGES.values())
    tatoeba = translation_groups(["tatoeba"], shared_data, ["en", "sw", "te", "bn", "th", "hi"])
    assert {lang for group in tatoeba for lang in group.sentences} == {"en", "sw", "te", "bn", "th", "hi"}
    everything = translation_groups(["flores200"], shared_data)
    assert len({lang for group in everything for lang in group.sentences}) == 205

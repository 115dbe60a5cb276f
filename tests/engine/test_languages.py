import pytest

from engine.errors import EngineError
from engine.languages import check_language_code


@pytest.mark.parametrize("code", ["en", "yo", "yor", "zho", "und", "zh-Hant", "ar-Latn", "pt-BR"])
def test_iso_639_1_and_639_3_codes_with_subtags_are_accepted(code):
    assert check_language_code(code, "here") == code


@pytest.mark.parametrize("code", ["zzz", "xx", "qqq-Latn", "english", "EN", "e", "en_US", "", "en-"])
def test_unknown_or_malformed_codes_are_refused_naming_the_place(code):
    with pytest.raises(EngineError, match=rf"here: unknown language code {code!r}"):
        check_language_code(code, "here")

"""Build translation groups (train.translations) from the parallel sentence data under the data dir.

- flores200: FLORES-200 via SIB-200, 701 train / 99 dev sentences in 205 languages, by index_id.
- ntrex128-bitext: NTREX-128's 1,997 news sentences, line by line across 22 languages.
- tatoeba: 1,000 sentence pairs with English for each of 112 languages (LASER's test set); each
  language's English side is its own, so every pair is a group of two.

None of these is an evaluation benchmark's training material: XQuAD-R, MLQA-R and MIRACL hold no
FLORES, NTREX or Tatoeba text. The FLORES dev split is `engine eval flores200`, so training uses
the train split and validation the dev split.
"""

from __future__ import annotations

from pathlib import Path

from engine.errors import EngineError
from engine.evaluation.flores import ENGINE_CODES, FLORES_CODES, read_flores
from engine.paths import data_dir
from train.builders import ntrex_lines, read_lines
from train.translations import TranslationGroup, restrict_languages

TRANSLATION_SOURCES = ("flores200", "ntrex128-bitext", "tatoeba")
# Tatoeba's ISO 639-3 codes that FLORES's table does not cover (FLORES uses individual languages: arb, not ara).
_TATOEBA_CODES = {"ara": "ar", "cmn": "zh", "aze": "az", "kur": "ku", "mon": "mn", "uzb": "uz", "yid": "yi",
                  "sqi": "sq", "bre": "br", "fry": "fy", "lat": "la", "ina": "ia", "ido": "io", "ile": "ie",
                  "cor": "kw", "cha": "ch"}
# FLORES's 3-letter language -> engine code without a script subtag (kas_Arab, kas_Deva -> ks).
_FLORES_BY_LANGUAGE = {flores.split("_")[0]: lang.split("-")[0] for flores, lang in FLORES_CODES.items()}


def translation_groups(sources, root: Path | None = None, languages: list[str] | None = None,
                       split: str = "train") -> list[TranslationGroup]:
    """The groups of the chosen TRANSLATION_SOURCES, restricted to `languages` (all when None). A
    language none of the sources has is an error; one that only some have is taken from those."""
    root = Path(root) if root is not None else data_dir()
    groups = []
    if "flores200" in sources:
        wanted = None if languages is None else [lang for lang in languages if lang in ENGINE_CODES]
        groups += flores_translation_groups(root, split, wanted)
    if "ntrex128-bitext" in sources:
        groups += ntrex_translation_groups(root)
    if "tatoeba" in sources:
        groups += tatoeba_translation_groups(root)
    return restrict_languages(groups, languages, " + ".join(sources))


def flores_translation_groups(root: Path, split: str = "train",
                              languages: list[str] | None = None) -> list[TranslationGroup]:
    """One group per FLORES index_id of `split`, in every language asked for (all 205 by default)."""
    if languages == []:
        return []
    sentences = read_flores(root, split, list(FLORES_CODES.values()) if languages is None else languages)
    ids = sorted({index_id for by_id in sentences.values() for index_id in by_id})
    return [TranslationGroup(f"flores200/{split}/{index_id}",
                             {lang: by_id[index_id] for lang, by_id in sentences.items() if index_id in by_id})
            for index_id in ids]


def ntrex_translation_groups(root: Path) -> list[TranslationGroup]:
    _, texts = ntrex_lines(root)
    count = len(next(iter(texts.values())))
    groups = []
    for line in range(count):
        sentences = {lang: lines[line] for lang, lines in texts.items() if lines[line].strip()}
        if len(sentences) > 1:
            groups.append(TranslationGroup(f"ntrex128/{line + 1}", sentences))
    return groups


def tatoeba_translation_groups(root: Path) -> list[TranslationGroup]:
    folder = root / "tatoeba"
    pairs = sorted(folder.glob("tatoeba.*-eng.eng"))
    if not pairs:
        raise EngineError(f"no Tatoeba files (tatoeba.<code>-eng.eng) in {folder} (set ENGINE_DATA_DIR to the "
                          "data dir)")
    groups = []
    for english_file in pairs:
        code = english_file.name.split(".")[1].split("-")[0]
        other_file = english_file.with_suffix(f".{code}")
        english, other = read_lines(english_file, "Tatoeba"), read_lines(other_file, "Tatoeba")
        if len(english) != len(other):
            raise EngineError(f"{other_file} has {len(other)} lines but {english_file} has {len(english)}: "
                              "the files must be aligned line by line")
        lang = tatoeba_language(code)
        groups += [TranslationGroup(f"tatoeba/{code}/{line + 1}", {"en": en, lang: text})
                   for line, (en, text) in enumerate(zip(english, other)) if en.strip() and text.strip()]
    return groups


def tatoeba_language(code: str) -> str:
    """Tatoeba's ISO 639-3 code -> the engine's code (ISO 639-1 where there is one)."""
    return _TATOEBA_CODES.get(code) or _FLORES_BY_LANGUAGE.get(code, code)


"""Build training pair groups (train.pairs) from the public data under the data dir.

- MLQA-R, training half only (engine.evaluation.mlqa_split.mlqa_split): a question and its answer sentence with
  its paragraph ("sentence+context", the evaluation's default candidate text), joined across
  languages by question id.
- NTREX-128 inverse cloze: a news sentence as the query, the k sentences on each side of it in its
  own document (without it) as the positive, parallel across the 22 languages.

XQuAD-R, the MLQA-R evaluation half and MIRACL are never trained on.
"""

from __future__ import annotations

from pathlib import Path

from engine.errors import EngineError
from engine.evaluation.lareqa import MLQA_R_LANGUAGES, read_lareqa_file
from engine.evaluation.mlqa_split import EVAL, TRAIN, mlqa_split
from engine.paths import data_dir
from train.pairs import Pair, PairGroup

# NTREX-128 file language code → ISO 639-1.
NTREX_LANGUAGES = {
    "eng": "en", "arb": "ar", "ben": "bn", "deu": "de", "ell": "el", "fas": "fa", "fin": "fi", "fra": "fr",
    "hin": "hi", "ind": "id", "jpn": "ja", "kor": "ko", "ron": "ro", "rus": "ru", "spa": "es", "swa": "sw",
    "tel": "te", "tha": "th", "tur": "tr", "vie": "vi", "yor": "yo", "zho-CN": "zh",
}
DEFAULT_CLOZE_WINDOW = 2
# The pair sources in the data dir (train.mmarco reads a dir the user brings).
PUBLIC_PAIR_SOURCES = ("mlqa-r", "ntrex128")


def public_pair_groups(sources, root: Path | None = None, window: int = DEFAULT_CLOZE_WINDOW) -> list[PairGroup]:
    """The groups of the chosen PUBLIC_PAIR_SOURCES, MLQA-R first."""
    groups = []
    if "mlqa-r" in sources:
        groups += mlqa_r_pair_groups(root)
    if "ntrex128" in sources:
        groups += ntrex_cloze_pair_groups(root, window)
    return groups


def mlqa_r_pair_groups(root: Path | None = None, split: str = TRAIN,
                       languages: tuple[str, ...] = MLQA_R_LANGUAGES) -> list[PairGroup]:
    """One group per MLQA-R question of `split`, with a pair in every language the question exists in.

    A training pair is dropped when its passage is also the answer of an evaluation question (the
    same paragraph can hold answers of questions from both halves).
    """
    if split not in (TRAIN, EVAL):
        raise EngineError(f"unknown MLQA-R split {split!r} (use {TRAIN!r} or {EVAL!r})")
    root = Path(root) if root is not None else data_dir()
    pairs, eval_passages = {}, set()
    for lang in languages:
        path = root / "mlqa-r" / f"{lang}.json"
        if not path.is_file():
            raise EngineError(f"MLQA-R file {path} is missing (set ENGINE_DATA_DIR to the data dir)")
        part, answers = read_lareqa_file(path, lang)
        row = {cid: index for index, cid in enumerate(part.candidate_ids)}
        fields = part.candidate_fields
        for qid, query in zip(part.query_ids, part.query_texts):
            index = row[answers[qid]]
            passage = f"{fields['sentence'][index]} {fields['context'][index]}"
            if mlqa_split(qid) == EVAL:
                eval_passages.add(passage)
            if mlqa_split(qid) == split:
                pairs.setdefault(qid, {})[lang] = Pair(query, passage)
    if split == TRAIN:
        pairs = {qid: {lang: pair for lang, pair in by_lang.items() if pair.positive not in eval_passages}
                 for qid, by_lang in pairs.items()}
    return [PairGroup(f"mlqa-r/{qid}", by_lang) for qid, by_lang in pairs.items() if by_lang]


def ntrex_cloze_pair_groups(root: Path | None = None, window: int = DEFAULT_CLOZE_WINDOW) -> list[PairGroup]:
    """One group per NTREX-128 sentence whose document has other sentences (inverse cloze task)."""
    if window < 1:
        raise EngineError(f"the inverse-cloze window must be at least 1 sentence, got {window}")
    documents, texts = ntrex_lines(root)
    groups = []
    for line, document in enumerate(documents):
        neighbours = [other for other in range(line - window, line + window + 1)
                      if other != line and 0 <= other < len(documents) and documents[other] == document]
        pairs = {}
        for lang, lines in texts.items():
            context = " ".join(lines[other] for other in neighbours if lines[other].strip())
            if lines[line].strip() and context:
                pairs[lang] = Pair(lines[line], context)
        if pairs:
            groups.append(PairGroup(f"ntrex128/{line + 1}", pairs))
    return groups


def ntrex_lines(root: Path | None = None) -> tuple[list[str], dict[str, list[str]]]:
    """NTREX-128's document id of each line, and each language's lines (ISO 639-1 code -> lines)."""
    folder = (Path(root) if root is not None else data_dir()) / "ntrex128"
    documents = read_lines(folder / "DOCUMENT_IDS.tsv", "NTREX-128")
    texts = {}
    for code, lang in NTREX_LANGUAGES.items():
        name = "newstest2019-src.eng.txt" if code == "eng" else f"newstest2019-ref.{code}.txt"
        texts[lang] = read_lines(folder / name, "NTREX-128")
        if len(texts[lang]) != len(documents):
            raise EngineError(f"{folder / name} has {len(texts[lang])} lines but DOCUMENT_IDS.tsv has "
                              f"{len(documents)}: the files must be aligned line by line")
    return documents, texts


def read_lines(path: Path, dataset: str) -> list[str]:
    """A data file's lines; a missing or unreadable file is an error naming it and its dataset."""
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise EngineError(f"{dataset} file {path} is missing (set ENGINE_DATA_DIR to the data dir)") from None
    except (OSError, UnicodeDecodeError) as err:
        raise EngineError(f"cannot read {path}: {err}") from None

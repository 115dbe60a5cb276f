import json
from pathlib import Path

import pytest

# Hand-made XQuAD-R files: three paragraphs, parallel question ids across languages. German lacks
# question q5, like MLQA-R, where not every question exists in every language.
PARAGRAPHS = {
    "en": [
        ("The river is long. It flows north. Fish live in it.", [("q1", "How long is the river?", "long"),
                                                                 ("q2", "Where does it flow?", "north")]),
        ("Bread is baked daily. The oven is hot.", [("q3", "When is bread baked?", "daily"),
                                                    ("q4", "How is the oven?", "hot")]),
        ("Stars shine at night. The moon is bright. Owls hunt late.", [("q5", "What hunts late?", "Owls"),
                                                                        ("q6", "What is bright?", "moon")]),
    ],
    "de": [
        ("Der Fluss ist lang. Er fliesst nach Norden. Fische leben darin.",
         [("q1", "Wie lang ist der Fluss?", "lang"), ("q2", "Wohin fliesst er?", "Norden")]),
        ("Brot wird taeglich gebacken. Der Ofen ist heiss.",
         [("q3", "Wann wird Brot gebacken?", "taeglich"), ("q4", "Wie ist der Ofen?", "heiss")]),
        ("Sterne leuchten nachts. Der Mond ist hell. Eulen jagen spaet.",
         [("q6", "Was ist hell?", "Mond")]),
    ],
}


def squad_file(paragraphs) -> dict:
    """SQuAD v1.1 JSON with LAReQA's `sentences` and `sentence_breaks` (sentences end at '. ')."""
    out = []
    for context, questions in paragraphs:
        sentences, breaks, start = [], [], 0
        for piece in context.split(". "):
            sentence = piece if piece.endswith(".") else piece + "."
            sentences.append(sentence)
            breaks.append([start, start + len(sentence)])
            start += len(sentence) + 1
        qas = [{"id": qid, "question": text, "answers": [{"text": answer, "answer_start": context.index(answer)}]}
               for qid, text, answer in questions]
        out.append({"context": context, "sentences": sentences, "sentence_breaks": breaks, "qas": qas})
    return {"version": "1.1", "data": [{"title": "t", "paragraphs": out}]}


def write_lareqa(root: Path, name: str = "xquad-r", paragraphs=PARAGRAPHS) -> Path:
    directory = root / name
    directory.mkdir(parents=True, exist_ok=True)
    for lang, content in paragraphs.items():
        (directory / f"{lang}.json").write_text(json.dumps(squad_file(content)), encoding="utf-8")
    return root


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch):
    """Embeddings cached by a test stay in its tmp dir."""
    monkeypatch.setenv("ENGINE_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def lareqa_data(tmp_path, monkeypatch):
    """A data dir holding the hand-made xquad-r files (en, de), set as ENGINE_DATA_DIR."""
    root = write_lareqa(tmp_path / "data")
    monkeypatch.setenv("ENGINE_DATA_DIR", str(root))
    return root


# Hand-made FLORES-200 files: the same three sentences (index ids 3, 7, 9) in three languages.
FLORES_SENTENCES = {
    "eng_Latn": ["The river is long.", "Bread is baked daily.", "Stars shine at night."],
    "deu_Latn": ["Der Fluss ist lang.", "Brot wird taeglich gebacken.", "Sterne leuchten nachts."],
    "yor_Latn": ["Odo naa gun.", "A n se buredi lojoojumo.", "Awon irawo n tan ni ale."],
}
FLORES_IDS = (3, 7, 9)


def write_flores(root: Path, sentences=FLORES_SENTENCES, splits=("train", "dev")) -> Path:
    for code, texts in sentences.items():
        for split in splits:
            directory = root / "flores200-sib" / code
            directory.mkdir(parents=True, exist_ok=True)
            rows = "".join(f"{index_id}\ttravel\t{text}\n" for index_id, text in zip(FLORES_IDS, texts))
            (directory / f"{split}.tsv").write_text("index_id\tcategory\ttext\n" + rows, encoding="utf-8")
    return root

"""The XLM-R style SentencePiece-unigram tokenizer embedded in an E5S1 file, as a `tokenizers` one.

Pieces and scores become a Unigram model; the per-code-point normalisation table is compiled into
a SentencePiece precompiled charsmap by the `sentencepiece` package's normaliser builder. The
rest (whitespace handling, Metaspace, `<s> X </s>`) follows transformers' XLM-R conversion.
"""

from __future__ import annotations

import sentencepiece
from sentencepiece import sentencepiece_model_pb2
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
from transformers import XLMRobertaTokenizerFast

from export.e5s1 import Vocabulary

METASPACE = "\u2581"
MASK_TOKEN = "<mask>"


def build_tokenizer(vocabulary: Vocabulary, normalization: dict[int, tuple[int, ...]],
                    max_length: int) -> XLMRobertaTokenizerFast:
    backend = Tokenizer(models.Unigram(
        list(zip(vocabulary.pieces, vocabulary.scores.tolist())), unk_id=vocabulary.unk_id, byte_fallback=False,
    ))
    steps = [normalizers.Strip(left=False, right=True), normalizers.Replace(Regex(" {2,}"), METASPACE)]
    if normalization:
        steps.insert(0, normalizers.Precompiled(compile_charsmap(normalization)))
    backend.normalizer = normalizers.Sequence(steps)
    backend.pre_tokenizer = pre_tokenizers.Metaspace(replacement=METASPACE, prepend_scheme="always")
    backend.decoder = decoders.Metaspace(replacement=METASPACE, prepend_scheme="always")
    bos, eos = vocabulary.pieces[vocabulary.bos_id], vocabulary.pieces[vocabulary.eos_id]
    backend.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, vocabulary.bos_id), (eos, vocabulary.eos_id)],
    )
    specials = [vocabulary.pieces[i] for i in (vocabulary.bos_id, vocabulary.pad_id, vocabulary.eos_id,
                                               vocabulary.unk_id)]
    backend.add_special_tokens([AddedToken(token, special=True, normalized=False) for token in specials]
                               + [AddedToken(MASK_TOKEN, special=True, lstrip=True, normalized=False)])
    return XLMRobertaTokenizerFast(
        tokenizer_object=backend,
        bos_token=bos, eos_token=eos, sep_token=eos, cls_token=bos,
        unk_token=vocabulary.pieces[vocabulary.unk_id], pad_token=vocabulary.pieces[vocabulary.pad_id],
        mask_token=MASK_TOKEN, model_max_length=max_length,
    )


def compile_charsmap(normalization: dict[int, tuple[int, ...]]) -> bytes:
    """Per-code-point replacements → SentencePiece's precompiled charsmap (double-array trie)."""
    rules = [(chr(source), "".join(map(chr, target))) for source, target in sorted(normalization.items())]
    sentencepiece.set_min_log_level(2)
    normalizer = sentencepiece.SentencePieceNormalizer(
        norm_map=rules, add_dummy_prefix=False, escape_whitespaces=False, remove_extra_whitespaces=False,
    )
    spec = sentencepiece_model_pb2.NormalizerSpec()
    spec.ParseFromString(normalizer.serialized_normalizer_spec())
    return spec.precompiled_charsmap

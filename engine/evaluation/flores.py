"""FLORES-200 via SIB-200: the same sentences in 205 languages, aligned by `index_id`.

Each language is a dir named by its FLORES code (`yor_Latn`) holding `train.tsv` and `dev.tsv`
with the header `index_id<TAB>category<TAB>text`. The engine names languages by ISO 639-1 where
one exists and by ISO 639-3 otherwise; a second script of one language gets the script as a
subtag (`zh-Hant`, `ar-Latn`). FLORES_CODES is that table, FLORES code -> engine code.

As an evaluation benchmark (`engine eval flores200`, dev split) every sentence is a query and a
candidate; a query's relevant candidate in another language is its translation, so the cross
setting is bitext retrieval between every ordered pair of languages (mAP = MRR, one relevant).
"""

from __future__ import annotations

from pathlib import Path

from engine.errors import EngineError
from engine.evaluation.data import Benchmark, Judgement, LanguagePart, assemble
from engine.text_lines import decoded_lines

DATASET_DIR = "flores200-sib"
SPLITS = ("train", "dev")
HEADER = ["index_id", "category", "text"]

# FLORES code, engine code: 205 rows. Individual languages map to their macrolanguage's ISO 639-1 code
# where FLORES has only one of them (arb -> ar, swh -> sw, pes -> fa, zsm -> ms, npi -> ne, ...).
_TABLE = """
ace_Arab ace-Arab  ace_Latn ace       acm_Arab acm       acq_Arab acq       aeb_Arab aeb       afr_Latn af
ajp_Arab ajp       aka_Latn ak        als_Latn sq        amh_Ethi am        apc_Arab apc       arb_Arab ar
arb_Latn ar-Latn   ars_Arab ars       ary_Arab ary       arz_Arab arz       asm_Beng as        ast_Latn ast
awa_Deva awa       ayr_Latn ay        azb_Arab azb       azj_Latn az        bak_Cyrl ba        bam_Latn bm
ban_Latn ban       bel_Cyrl be        bem_Latn bem       ben_Beng bn        bho_Deva bho       bjn_Arab bjn-Arab
bjn_Latn bjn       bod_Tibt bo        bos_Latn bs        bug_Latn bug       bul_Cyrl bg        cat_Latn ca
ceb_Latn ceb       ces_Latn cs        cjk_Latn cjk       ckb_Arab ckb       crh_Latn crh       cym_Latn cy
dan_Latn da        deu_Latn de        dik_Latn dik       dyu_Latn dyu       dzo_Tibt dz        ell_Grek el
eng_Latn en        epo_Latn eo        est_Latn et        eus_Latn eu        ewe_Latn ee        fao_Latn fo
fij_Latn fj        fin_Latn fi        fon_Latn fon       fra_Latn fr        fur_Latn fur       fuv_Latn ff
gaz_Latn om        gla_Latn gd        gle_Latn ga        glg_Latn gl        grn_Latn gn        guj_Gujr gu
hat_Latn ht        hau_Latn ha        heb_Hebr he        hin_Deva hi        hne_Deva hne       hrv_Latn hr
hun_Latn hu        hye_Armn hy        ibo_Latn ig        ilo_Latn ilo       ind_Latn id        isl_Latn is
ita_Latn it        jav_Latn jv        jpn_Jpan ja        kab_Latn kab       kac_Latn kac       kam_Latn kam
kan_Knda kn        kas_Arab ks        kas_Deva ks-Deva   kat_Geor ka        kaz_Cyrl kk        kbp_Latn kbp
kea_Latn kea       khk_Cyrl mn        khm_Khmr km        kik_Latn ki        kin_Latn rw        kir_Cyrl ky
kmb_Latn kmb       kmr_Latn ku        knc_Arab kr-Arab   knc_Latn kr        kon_Latn kg        kor_Hang ko
lao_Laoo lo        lij_Latn lij       lim_Latn li        lin_Latn ln        lit_Latn lt        lmo_Latn lmo
ltg_Latn ltg       ltz_Latn lb        lua_Latn lua       lug_Latn lg        luo_Latn luo       lus_Latn lus
lvs_Latn lv        mag_Deva mag       mai_Deva mai       mal_Mlym ml        mar_Deva mr        min_Arab min-Arab
min_Latn min       mkd_Cyrl mk        mlt_Latn mt        mni_Beng mni       mos_Latn mos       mri_Latn mi
mya_Mymr my        nld_Latn nl        nno_Latn nn        nob_Latn nb        npi_Deva ne        nqo_Nkoo nqo
nso_Latn nso       nus_Latn nus       nya_Latn ny        oci_Latn oc        ory_Orya or        pag_Latn pag
pan_Guru pa        pap_Latn pap       pbt_Arab ps        pes_Arab fa        plt_Latn mg        pol_Latn pl
por_Latn pt        prs_Arab prs       quy_Latn qu        ron_Latn ro        run_Latn rn        rus_Cyrl ru
sag_Latn sg        san_Deva sa        sat_Olck sat       scn_Latn scn       shn_Mymr shn       sin_Sinh si
slk_Latn sk        slv_Latn sl        smo_Latn sm        sna_Latn sn        snd_Arab sd        som_Latn so
sot_Latn st        spa_Latn es        srd_Latn sc        srp_Cyrl sr        ssw_Latn ss        sun_Latn su
swe_Latn sv        swh_Latn sw        szl_Latn szl       tam_Taml ta        taq_Latn taq       taq_Tfng taq-Tfng
tat_Cyrl tt        tel_Telu te        tgk_Cyrl tg        tgl_Latn tl        tha_Thai th        tir_Ethi ti
tpi_Latn tpi       tsn_Latn tn        tso_Latn ts        tuk_Latn tk        tum_Latn tum       tur_Latn tr
twi_Latn tw        tzm_Tfng tzm       uig_Arab ug        ukr_Cyrl uk        umb_Latn umb       urd_Arab ur
uzn_Latn uz        vec_Latn vec       vie_Latn vi        war_Latn war       wol_Latn wo        xho_Latn xh
ydd_Hebr yi        yor_Latn yo        yue_Hant yue       zho_Hans zh        zho_Hant zh-Hant   zsm_Latn ms
zul_Latn zu
"""
_WORDS = _TABLE.split()
FLORES_CODES = dict(zip(_WORDS[::2], _WORDS[1::2]))
ENGINE_CODES = {code: flores for flores, code in FLORES_CODES.items()}
# What `engine eval flores200` asks by default: every XQuAD-R / MLQA-R language and MIRACL's long tail.
DEFAULT_LANGUAGES = ("ar", "bn", "de", "el", "en", "es", "hi", "ru", "sw", "te", "th", "tr", "vi", "yo", "zh")


def flores_code(lang: str) -> str:
    """The FLORES dir name of an engine language code; an error names the codes there are."""
    if lang not in ENGINE_CODES:
        raise EngineError(f"FLORES-200 has no language {lang!r} (engine codes such as yo, sw, zh-Hant; "
                          f"{len(ENGINE_CODES)} in all, see engine/evaluation/flores.py)")
    return ENGINE_CODES[lang]


def read_flores(root: Path, split: str, languages: list[str]) -> dict[str, dict[int, str]]:
    """{language: {index_id: sentence}} for `split` of each language (engine codes)."""
    if split not in SPLITS:
        raise EngineError(f"unknown FLORES-200 split {split!r} (use {' or '.join(SPLITS)})")
    return {lang: read_flores_file(Path(root) / DATASET_DIR / flores_code(lang) / f"{split}.tsv")
            for lang in languages}


def read_flores_file(path: Path) -> dict[int, str]:
    """One `index_id<TAB>category<TAB>text` file; a broken row is an error naming the file and line."""
    try:
        with path.open("rb") as handle:
            # Split on newlines only: str.splitlines would also split a text at U+2028 or \x0c.
            lines = [(number, line.rstrip("\r\n")) for number, line in decoded_lines(handle, str(path))]
    except FileNotFoundError:
        raise EngineError(f"FLORES-200 file {path} is missing (set ENGINE_DATA_DIR to the data dir holding "
                          f"{DATASET_DIR}/)") from None
    except OSError as err:
        raise EngineError(f"cannot read {path}: {err}") from None
    if not lines or lines[0][1].split("\t") != HEADER:
        raise EngineError(f"{path}:1: expected the header {chr(9).join(HEADER)!r}")
    sentences: dict[int, str] = {}
    for number, line in lines[1:]:
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != len(HEADER):
            raise EngineError(f"{path}:{number}: expected {len(HEADER)} tab-separated fields, got {len(fields)}")
        index_id, _, text = fields
        if not (index_id.isascii() and index_id.isdigit()):
            raise EngineError(f"{path}:{number}: index_id {index_id!r} is not a number")
        if not text.strip():
            raise EngineError(f"{path}:{number}: empty text")
        if int(index_id) in sentences:
            raise EngineError(f"{path}:{number}: index_id {index_id} is listed twice")
        sentences[int(index_id)] = text
    if not sentences:
        raise EngineError(f"{path} holds no sentences")
    return sentences


def load_flores_benchmark(root: Path, languages: list[str], max_queries: int | None = None) -> Benchmark:
    """The dev split as a bitext-retrieval benchmark: sentences aligned across `languages`."""
    sentences = read_flores(root, "dev", languages)
    shared = sorted(set.intersection(*(set(by_id) for by_id in sentences.values())))
    parts = []
    for lang in languages:
        ids = [str(index_id) for index_id in shared]
        part = LanguagePart(lang, query_ids=list(ids), query_texts=[sentences[lang][i] for i in shared],
                            candidate_ids=ids, candidate_fields={"text": [sentences[lang][i] for i in shared]})
        part.judgements = [[Judgement(other, qid) for other in languages if other != lang] for qid in ids]
        parts.append(part)
    return assemble("flores200", parts, max_queries)


def flores_languages(root: Path) -> list[str]:
    """The default languages that have their dev file in the data dir."""
    return [lang for lang in DEFAULT_LANGUAGES
            if (Path(root) / DATASET_DIR / ENGINE_CODES[lang] / "dev.tsv").is_file()]

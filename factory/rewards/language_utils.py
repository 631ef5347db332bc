"""Script tables, non-word stripping and word counting behind the language-consistency reward."""

from __future__ import annotations

import re
from bisect import bisect_right
from itertools import repeat
from typing import NamedTuple

import numpy as np

# ---------------------------------------------------------------- what is not a word
# One alternation, applied once per text: display/inline LaTeX, LaTeX environments, bare
# ``\commands``, fenced and inline code, URLs, format tags. Every branch starts with a
# literal so the regex engine skips ahead between candidates (2x faster than a plain
# alternation). Inline ``$…$`` follows pandoc's rule (no space just inside, no digit right
# after the closing dollar) so "$5 and $10" stays prose. Unclosed blocks run to the end.
_STRIP = re.compile(
    r"\$(?:\$.*?(?:\$\$|\Z)|(?=\S)[^$\n]*?(?<=\S)\$(?!\d))"
    r"|\\(?:\[.*?(?:\\\]|\Z)|\(.*?(?:\\\)|\Z)|begin\{(\w+\*?)\}.*?(?:\\end\{\1\}|\Z)|[A-Za-z]+)"
    r"|`(?:``.*?(?:```|\Z)|[^`\n]*`)"
    r"|~~~.*?(?:~~~|\Z)"
    r"|h(?:ttps?://\S+)|w(?:ww\.\S+)"
    r"|</?(?:think|answer)>|\|special_token\|",  # markers left in a truncated completion
    re.DOTALL,
)

# ---------------------------------------------------------------- scripts
_LATIN_LETTER = "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u1e00-\u1eff"
_LATIN_RUN = re.compile(f"[{_LATIN_LETTER}]{{2,}}")
# A Latin word has 2+ letters and is neither all-caps (geometry points "ABC", acronyms)
# nor a math/unit symbol: in "let x", "triangle ABC", "sin x", "5 cm" only "let" is a word.
_SYMBOLS = frozenset("sin cos tan cot sec csc log ln lg exp max min mod gcd lcm lim det arg "
                     "cm mm km kg mg ml".split())
_HAN_CHARS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002a6df"
_KANA_CHARS = "\u3040-\u309f\u30a0-\u30fa\u30fc-\u30ff\u31f0-\u31ff\uff66-\uff9f"
_HAN = re.compile(f"[{_HAN_CHARS}]")
_KANA = re.compile(f"[{_KANA_CHARS}]")
_HANGUL_WORD = re.compile("[\uac00-\ud7af\u1100-\u11ff\u3130-\u318f]+")

# Other scripts: (first, last, name). Runs of one script are one word (space-delimited
# scripts); Thai-like scripts without spaces count each character, like Han.
_OTHER_RANGES = [
    ("\u0370", "\u03ff", "greek"), ("\u1f00", "\u1fff", "greek"),
    ("\u0400", "\u052f", "cyrillic"), ("\u0530", "\u058f", "armenian"),
    ("\u0590", "\u05ff", "hebrew"), ("\u0600", "\u06ff", "arabic"), ("\u0750", "\u077f", "arabic"),
    ("\u0900", "\u097f", "devanagari"), ("\u0980", "\u09ff", "bengali"),
    ("\u0a00", "\u0a7f", "gurmukhi"), ("\u0a80", "\u0aff", "gujarati"),
    ("\u0b80", "\u0bff", "tamil"), ("\u0c00", "\u0c7f", "telugu"), ("\u0c80", "\u0cff", "kannada"),
    ("\u0d00", "\u0d7f", "malayalam"), ("\u0d80", "\u0dff", "sinhala"),
    ("\u0e00", "\u0e7f", "thai"), ("\u0e80", "\u0eff", "lao"), ("\u1000", "\u109f", "myanmar"),
    ("\u10a0", "\u10ff", "georgian"), ("\u1200", "\u137f", "ethiopic"), ("\u1780", "\u17ff", "khmer"),
]
_OTHER_STARTS = [lo for lo, _, _ in _OTHER_RANGES]
_CHAR_SCRIPTS = frozenset({"thai", "lao", "myanmar", "khmer"})
# Letters only: combining marks and digits of these blocks stay inside a run, but the
# blocks' punctuation (Greek ";", Arabic comma, danda) is cut out with a lookahead.
_OTHER_WORD = re.compile(
    r"(?:(?![\u037e\u0387\u055a-\u055f\u0589\u05be\u05c0\u05c3\u060c\u061b\u061f\u066a-\u066d"
    r"\u06d4\u0964\u0965\u0e2f\u0e46\u0e4f\u0e5a\u0e5b\u10fb\u1362-\u1368\u17d4-\u17da])["
    + "".join(f"{lo}-{hi}" for lo, hi, _ in _OTHER_RANGES)
    + "])+"
)


def _class_table() -> np.ndarray:
    """Script class of every BMP code point: 1 Han, 2 Kana, 3 Hangul, 4 other script, 0 rest."""
    table = np.zeros(0x10000, dtype=np.uint8)
    spans = {1: _HAN_CHARS[:-3],  # the BMP part; extension B is counted apart
             2: _KANA_CHARS, 3: "\uac00-\ud7af\u1100-\u11ff\u3130-\u318f",
             4: "".join(f"{lo}-{hi}" for lo, hi, _ in _OTHER_RANGES)}
    for cls, span in spans.items():
        for lo, hi in zip(span[0::3], span[2::3]):
            table[ord(lo):ord(hi) + 1] = cls
    table.flags.writeable = False
    return table


_CLASS = _class_table()

# ---------------------------------------------------------------- languages
_SCRIPT_LANGS = {
    "latin": "en fr de es it pt nl sv da no nb nn fi pl cs sk sl hr bs ro hu tr id ms vi tl "
             "ca eu gl et lv lt sq af sw is ga cy mt az uz",
    "cyrillic": "ru uk bg mk sr be kk ky mn tg",
    "greek": "el", "armenian": "hy", "hebrew": "he yi", "arabic": "ar fa ur ps ug ckb",
    "devanagari": "hi mr ne sa", "bengali": "bn as", "gurmukhi": "pa", "gujarati": "gu",
    "tamil": "ta", "telugu": "te", "kannada": "kn", "malayalam": "ml", "sinhala": "si",
    "thai": "th", "lao": "lo", "myanmar": "my", "georgian": "ka", "ethiopic": "am", "khmer": "km",
    "han": "zh", "japanese": "ja", "hangul": "ko",
}
LANGUAGE_SCRIPT = {lang: s for s, langs in _SCRIPT_LANGS.items() for lang in langs.split()}
_ALIASES = {
    "english": "en", "chinese": "zh", "mandarin": "zh", "japanese": "ja", "korean": "ko",
    "french": "fr", "german": "de", "spanish": "es", "italian": "it", "portuguese": "pt",
    "dutch": "nl", "russian": "ru", "ukrainian": "uk", "arabic": "ar", "hindi": "hi",
    "vietnamese": "vi", "turkish": "tr", "polish": "pl", "indonesian": "id", "thai": "th",
    "cmn": "zh", "yue": "zh", "nob": "no", "iw": "he", "in": "id",
}
# Near-identical standards a language-ID model cannot separate reliably: never a mix.
_CLOSE = [{"no", "nb", "nn"}, {"hr", "bs", "sr", "sh"}, {"ms", "id"}]
CLOSE_VARIANTS = {lang: frozenset(g) for g in _CLOSE for lang in g}


def normalize_language(language: str | None) -> str | None:
    """ISO-639-1 code for a BCP-47 tag or English name, or None when unsupported.

    >>> normalize_language("zh-Hans-CN"), normalize_language("English"), normalize_language("xx")
    ('zh', 'en', None)
    """
    if not language:
        return None
    key = str(language).strip().lower().replace("_", "-")
    key = _ALIASES.get(key, key)
    base = _ALIASES.get(key.split("-")[0], key.split("-")[0])
    return base if base in LANGUAGE_SCRIPT else None


class WordCounts(NamedTuple):
    """Words per script in one stripped text; ``other`` maps script name to word count and
    ``latin_runs`` keeps the raw Latin letter runs for the function-word check."""

    han: int
    kana: int
    hangul: int
    latin: int
    other: dict[str, int]
    latin_runs: list[str]

    @property
    def total(self) -> int:
        return self.han + self.kana + self.hangul + self.latin + sum(self.other.values())


def strip_non_words(text: str) -> str:
    r"""Blank out code, LaTeX, URLs: they are notation, not words of any language.

    >>> strip_non_words(r"Let $x^2$ be \(y\), see https://a.b/c and `code`.")
    'Let   be  , see   and  .'
    """
    return _STRIP.sub(" ", text)


def latin_words(text: str) -> list[str]:
    """Latin-script words of a stripped text: no symbols, all-caps tokens or single letters.

    >>> latin_words("Let x be the side AB of triangle ABC, in cm.")
    ['Let', 'be', 'the', 'side', 'of', 'triangle', 'in']
    """
    return [w for w in _LATIN_RUN.findall(text) if not (w.isupper() or w in _SYMBOLS)]


def _other_words(text: str) -> dict[str, int]:
    other: dict[str, int] = {}
    for run in _OTHER_WORD.findall(text):
        script = _OTHER_RANGES[bisect_right(_OTHER_STARTS, run[0]) - 1][2]
        if script == "greek" and len(run) == 1:
            continue  # a lone Greek letter is a math symbol (π, α), not a word
        other[script] = other.get(script, 0) + (len(run) if script in _CHAR_SCRIPTS else 1)
    return other


def count_words(text: str) -> WordCounts:
    """Count words per script in a stripped text.

    Han and Kana count one word per character (CJK has no spaces; a character is the
    closest unit to a word), Hangul and other spaced scripts one word per run. Characters
    are classified with one table lookup over the whole text (numpy), so a Chinese CoT
    costs a few microseconds beyond the Latin-word regex.

    >>> count_words("我们 compute the sum 한국어 слово").total
    7
    """
    runs = _LATIN_RUN.findall(text)
    n_latin = len(runs) - sum(map(str.isupper, runs)) - sum(map(_SYMBOLS.__contains__, runs))
    if text.isascii():
        return WordCounts(0, 0, 0, n_latin, {}, runs)
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    hist = np.bincount(_CLASS[np.minimum(codes, 0xFFFF)], minlength=5)
    han = int(hist[1])
    if codes.max() > 0xFFFF:
        han += int(np.count_nonzero((codes >= 0x20000) & (codes <= 0x2A6DF)))
    hangul = len(_HANGUL_WORD.findall(text)) if hist[3] else 0
    other = _other_words(text) if hist[4] else {}
    return WordCounts(han, int(hist[2]), hangul, n_latin, other, runs)


def script_words(text: str, script: str) -> list[str]:
    """The words of one spaced script (latin, cyrillic, arabic, ...) in a stripped text."""
    if script == "latin":
        return latin_words(text)
    return [w for w in _OTHER_WORD.findall(text)
            if _OTHER_RANGES[bisect_right(_OTHER_STARTS, w[0]) - 1][2] == script]


def han_count(text: str) -> int:
    """Number of Han characters."""
    return len(_HAN.findall(text))


def kana_count(text: str) -> int:
    """Number of Hiragana/Katakana characters."""
    return len(_KANA.findall(text))


# ---------------------------------------------------------------- function words
# Frequent function words per same-script language. A text whose words hit only its
# target's list (and hit it often) skips the language-ID model: the fast path.
_FUNCTION_WORDS = {
    "en": "the of and to in is that it for on with as this be are by we so if not or an at from "
          "but can which have has then there was will let now all no also would should our its "
          "one two me my you what when how wait each since because only into than these those "
          # English words that are function words elsewhere ("plus", "per", "non", "die"
          # of dice, "de" stays foreign: "de Moivre" is rare enough for the tolerance)
          "plus per non come due do die von del par con um nu dan er al",
    "fr": "le la les de des du et est une que qui dans pour pas sur ce cette avec il elle nous on "
          "sont au aux par mais ou donc alors être fait ces se ne plus comme leur si ça cela "
          "aussi très nombre deux soit",
    "de": "der und ist nicht das ein eine einen dem den des mit sich auf für von zu wir es im "
          "auch als dass oder aber wenn wird sind kann noch nach bei nur ich sie dann also "
          "diese dieser zahl zwei",
    "es": "el la los las de del que en un una por para con no es lo como más pero sus al se "
          "su ya este esta si entonces número dos también porque",
    "it": "il di che la per un una non sono del della con si come anche più questo quindi ma "
          "se gli nel alla dei delle numero due allora",
    "pt": "de que do da em um para com não uma os no se na por mais as dos como mas ao das "
          "seu sua ou quando muito também então isso número dois",
    "nl": "de het een en van te dat die in is niet op aan met als voor maar er om dan zijn ook "
          "nu wat wij we dus moet kan getal twee",
    "ru": "и в не на что с по это как а то все так его но для из у мы же от при если или ли "
          "уже есть быть был только этот тогда значит поэтому число два",
    "uk": "і в не на що з це як та а до для від ми але чи або також тому якщо є було ще вже "
          "його їх цей число два",
}
_FW_SETS = {lang: frozenset(words.split()) for lang, words in _FUNCTION_WORDS.items()}


def _gate_sets(lang: str) -> tuple[frozenset[str], frozenset[str]]:
    own = _FW_SETS[lang]
    script = LANGUAGE_SCRIPT[lang]
    others = frozenset().union(*(s for other, s in _FW_SETS.items()
                                 if other != lang and LANGUAGE_SCRIPT[other] == script))
    return own - others, others - own


_GATE_SETS = {lang: _gate_sets(lang) for lang in _FW_SETS}
_FOREIGN_WEIGHT = 1 << 20
_GATE_WEIGHTS = {lang: {**dict.fromkeys(foreign, _FOREIGN_WEIGHT), **dict.fromkeys(own, 1)}
                for lang, (own, foreign) in _GATE_SETS.items()}


def looks_like(words: list[str], language: str, *, min_own: float = 0.2, max_foreign: float = 0.01,
               min_words: int = 20) -> bool | None:
    """Whether same-script ``words`` are plainly ``language`` by their function words.

    True when there are >= ``min_words`` words, the target's own function words make
    >= ``min_own`` of them (English CoT: ~0.35) and other languages' make at most
    ``max_foreign`` (or one word); False when a language-ID model must look; None when
    the language has no table.

    >>> looks_like(("we compute the sum of all the odd numbers and then check that it is right " * 2).split(), "en")
    True
    >>> looks_like(("nous calculons la somme des nombres impairs et puis " * 3).split(), "en")
    False
    """
    weights = _GATE_WEIGHTS.get(language)
    if weights is None:
        return None
    if len(words) < min_words:
        return False
    # own words weigh 1 and foreign ones 2**20, so one C-level pass counts both
    n_own, n_foreign = _split(sum(map(weights.get, map(str.lower, words), repeat(0))))
    return gate_passes(len(words), n_own, n_foreign, min_own=min_own, max_foreign=max_foreign, min_words=min_words)


def gate_passes(n_words: int, n_own: int, n_foreign: int, *, min_own: float = 0.2, max_foreign: float = 0.01,
                min_words: int = 20) -> bool:
    """``looks_like``'s verdict from its counts (the compiled text kernel counts them itself).

    >>> gate_passes(40, 12, 1), gate_passes(40, 12, 2), gate_passes(19, 19, 0)
    (True, False, False)
    """
    return n_words >= min_words and n_own >= min_own * n_words and n_foreign <= max(1, max_foreign * n_words)


def _split(total: int) -> tuple[int, int]:
    return total & (_FOREIGN_WEIGHT - 1), total >> 20

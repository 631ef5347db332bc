"""One compiled pass over a batch's UTF-8 bytes that counts what language consistency needs.

Why: the regex path (``split_think`` -> ``strip_non_words`` -> ``count_words`` -> ``looks_like``)
costs ~220 µs per 3.8k-character R1 rollout, almost all of it building strings and lists that
are thrown away: the stripped copy, the list of Latin runs, their lower-cased copies. This
kernel reads each completion once, in place, and returns per-row integers (words per script,
function-word hits); Python turns them into the same share ``consistency()`` computes.

It is an exact re-implementation, not an approximation, and it knows where it is not exact:
a row is flagged for the Python path when it holds anything the kernel does not model

- the R1 ``|special_token|`` format, code points above U+FFFF, characters whose case maps
  into ASCII (``İ``, ``ı``, ``K``: they make ``</think>`` match case-insensitively or change
  lengths under ``lower()``);
- a script other than Latin, Han, Kana or Hangul in the reasoning (``_OTHER_WORD`` attribution);
- Japanese or Kana-in-Chinese sentence splitting, and every text the function-word gate does
  not clear (those need the language-ID model anyway).

Every character predicate comes from Python itself (``str.isspace`` is ``re``'s ``\\s``,
``str.isdecimal`` is ``\\d``, ``str.isalnum`` or ``_`` is ``\\w``), built once into a BMP table,
and the strip scanner takes ``_STRIP``'s branches in the regex's order with its lazy/greedy
choices, so ``tests/test_text_kernel.py`` can demand equality with ``consistency()`` on every
row the kernel does not flag. Function words and math symbols are matched by a 64-bit FNV-1a
hash of their code points (the table's own words are checked collision-free at build time).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import NamedTuple, Sequence

import numpy as np
from numba import njit

from factory.rewards.language_utils import (
    _CLASS,
    _FW_SETS,
    _GATE_SETS,
    _LATIN_LETTER,
    _SYMBOLS,
    LANGUAGE_SCRIPT,
    gate_passes,
)

# character flags (BMP)
SPACE, DIGIT, WORD, LATIN, UPPER, LOWTITLE, ODD, START, BREAK = 1, 2, 4, 8, 16, 32, 64, 128, 256
# per-row output columns
STATUS, RUNS, LATIN_WORDS, OWN, FOREIGN, HAN, KANA, HANGUL = range(8)
N_OUT = 8
FALLBACK = 1

_LITERALS = ("$$", "\\]", "\\)", "begin{", "\\end{", "```", "~~~", "https://", "http://", "www.",
             "<think>", "</think>", "<answer>", "</answer>", "|special_token|")


@functools.lru_cache(maxsize=1)
def _literals() -> np.ndarray:
    """Row t = (length, code points of _LITERALS[t]..., padding)."""
    lits = np.zeros((len(_LITERALS), 1 + max(map(len, _LITERALS))), np.int32)
    for t, lit in enumerate(_LITERALS):
        lits[t, 0] = len(lit)
        lits[t, 1:1 + len(lit)] = [ord(c) for c in lit]
    return lits


# rows of _literals() by name; the tags are ASCII, so their code points are also their UTF-8 bytes
_THINK, _THINK_END, _SPECIAL_TOKEN = 10, 11, 14

_FNV_OFFSET = 0xCBF29CE484222325
_FNV_PRIME = 0x100000001B3
_MASK64 = (1 << 64) - 1
_OFFSET_U64, _PRIME_U64 = np.uint64(_FNV_OFFSET), np.uint64(_FNV_PRIME)


def fnv1a(word: str) -> int:
    """FNV-1a 64 over code points, the kernel's word hash.

    >>> hex(fnv1a("the"))
    '0x56f5c9194461d57c'
    """
    h = _FNV_OFFSET
    for ch in word:
        h = ((h ^ ord(ch)) * _FNV_PRIME) & _MASK64
    return h


class Tables(NamedTuple):
    flags: np.ndarray  # uint16[65536]
    cls: np.ndarray  # uint8[65536], language_utils._CLASS
    lower: np.ndarray  # uint16[65536], str.lower of Latin letters (else the code point)
    word_keys: np.ndarray  # uint64[_SLOTS]: open-addressing table of word hashes (0 = empty)
    word_vals: np.ndarray  # int64[_SLOTS]: bit per gate language holding the word, | SYMBOL
    max_word: int  # the longest function word or symbol, in code points (longer runs skip the lookup)
    lang_bit: dict[str, int]  # gate language -> its bit
    latin_mask: int  # bits of the Latin-script gate languages


_SLOTS_LOG2 = 11
SYMBOL = 1 << 32


def _hash_table(values: dict[int, int]) -> tuple[np.ndarray, np.ndarray]:
    keys = np.zeros(1 << _SLOTS_LOG2, np.uint64)
    vals = np.zeros(1 << _SLOTS_LOG2, np.int64)
    assert 0 not in values and len(values) < len(keys) // 2
    for h, v in values.items():
        slot = h >> (64 - _SLOTS_LOG2)
        while keys[slot]:
            slot = (slot + 1) & (len(keys) - 1)
        keys[slot], vals[slot] = h, v
    return keys, vals


@functools.lru_cache(maxsize=1)
def tables() -> Tables:
    """The BMP predicate tables and the hashed word tables (built once per process, ~0.15-0.4 s)."""
    flags = np.zeros(0x10000, np.uint16)
    lower = np.arange(0x10000, dtype=np.uint16)
    bmp = "".join(map(chr, range(0x10000)))
    latin = np.zeros(0x10000, bool)
    latin[[ord(ch) for ch in re.findall(f"[{_LATIN_LETTER}]", bmp)]] = True  # _LATIN_RUN's own class
    for ch in re.findall("[thinkTHINK]", bmp, re.IGNORECASE):
        if ord(ch) >= 0x80:
            flags[ord(ch)] |= ODD  # "ı" and "K" match "</think>" under re.IGNORECASE
    for c in range(0x10000):
        ch = chr(c)
        f = 0
        if ch.isspace():
            f |= SPACE
        if ch.isdecimal():
            f |= DIGIT
        if ch.isalnum() or ch == "_":
            f |= WORD
        if ch.isupper():
            f |= UPPER
        if ch.islower() or unicodedata.category(ch) == "Lt":  # str.isupper()'s "lower or title" test
            f |= LOWTITLE
        low = ch.lower()
        if c >= 0x80 and (len(low) != 1 or ord(low) < 0x80):
            f |= ODD  # "K".lower() == "k", "İ".lower() == "i̇": head.lower().rfind("<think>") sees ASCII
        if latin[c]:
            f |= LATIN
            if len(low) == 1:
                lower[c] = ord(low)
            else:
                f |= ODD  # "İ".lower() is two code points
        if len(("a" + ch + "a").splitlines()) == 2:
            f |= BREAK  # str.splitlines() ends a line here
        if ch in "$\\`~hw<":
            f |= START  # a _STRIP branch can start here
        flags[c] |= f
    fw_langs = sorted(lang for lang in _FW_SETS if LANGUAGE_SCRIPT[lang] == "latin")
    lang_bit = {lang: 1 << k for k, lang in enumerate(fw_langs)}
    masks: dict[int, int] = {}
    words: dict[int, str] = {}
    for lang in fw_langs:
        for word in _FW_SETS[lang]:
            h = fnv1a(word)
            if words.setdefault(h, word) != word:
                raise RuntimeError(f"function-word hash collision: {word!r} vs {words[h]!r}")
            masks[h] = masks.get(h, 0) | lang_bit[lang]
    for word in _SYMBOLS:  # all lower-case ASCII: a run is one iff its lowered hash matches and it was lower
        h = fnv1a(word)
        if words.setdefault(h, word) != word:
            raise RuntimeError(f"symbol hash collision: {word!r} vs {words[h]!r}")
        masks[h] = masks.get(h, 0) | SYMBOL
    keys, vals = _hash_table(masks)
    for arr in (flags, lower, keys, vals):
        arr.flags.writeable = False
    return Tables(flags, _CLASS, lower, keys, vals, max(map(len, words.values())), lang_bit, sum(lang_bit.values()))


def _check_gate_sets() -> None:
    """The kernel derives own/foreign from membership bits; that must equal ``_GATE_SETS``."""
    t = tables()
    for lang, bit in t.lang_bit.items():
        own, foreign = _GATE_SETS[lang]
        for word in _FW_SETS[lang] | foreign:
            m = int(_word_value(t.word_keys, t.word_vals, np.uint64(fnv1a(word))))
            others = m & t.latin_mask & ~bit
            assert ((m & bit) != 0 and others == 0) == (word in own), (lang, word)
            assert ((m & bit) == 0 and others != 0) == (word in foreign), (lang, word)


# ---------------------------------------------------------------- the compiled scan

@njit(cache=True, nogil=True)
def _decode(data, s, e, cp):
    """UTF-8 bytes data[s:e] (valid: Arrow strings or str.encode) into code points; returns the count."""
    n = 0
    i = s
    while i < e:
        b = data[i]
        if b < 0x80:
            cp[n] = b
            i += 1
        elif b < 0xE0:
            cp[n] = ((b & 0x1F) << 6) | (data[i + 1] & 0x3F)
            i += 2
        elif b < 0xF0:
            cp[n] = ((b & 0x0F) << 12) | ((data[i + 1] & 0x3F) << 6) | (data[i + 2] & 0x3F)
            i += 3
        else:
            cp[n] = ((b & 0x07) << 18) | ((data[i + 1] & 0x3F) << 12) | ((data[i + 2] & 0x3F) << 6) \
                | (data[i + 3] & 0x3F)
            i += 4
        n += 1
    return n


@njit(cache=True, nogil=True)
def _lower_ascii(c):
    return c + 32 if 65 <= c <= 90 else c


@njit(cache=True, nogil=True)
def _at(cp, n, i, lits, t, fold_case=False):
    """cp[i:n] starts with literal ``t`` (row t of ``lits`` is (length, code points...)); with
    ``fold_case``, ASCII capitals in cp match the literal's lower case."""
    m = lits[t, 0]
    if i + m > n:
        return False
    for k in range(m):
        c = cp[i + k]
        if (_lower_ascii(c) if fold_case else c) != lits[t, k + 1]:
            return False
    return True


@njit(cache=True, nogil=True)
def _close(cp, n, i, lits, t):
    """End of the lazy ``.*?(?:LITERAL|\\Z)`` started at i."""
    last = n - lits[t, 0]
    first = lits[t, 1]
    while i <= last:
        if cp[i] == first and _at(cp, n, i, lits, t):
            return i + lits[t, 0]
        i += 1
    return n


@njit(cache=True, nogil=True)
def _close_env(cp, n, i, name):
    """End of the lazy ``.*?(?:\\end\{NAME\}|\\Z)`` started at i."""
    m = len(name)
    last = n - m - 6
    while i <= last:
        if cp[i] == 92 and cp[i + 1] == 101 and cp[i + 2] == 110 and cp[i + 3] == 100 and cp[i + 4] == 123 \
                and cp[i + 5 + m] == 125:
            same = True
            for k in range(m):
                if cp[i + 5 + k] != name[k]:
                    same = False
                    break
            if same:
                return i + m + 6
        i += 1
    return n


@njit(cache=True, nogil=True)
def _strip_end(cp, n, i, flags, lits):
    """End of the ``_STRIP`` match starting at i, or -1 when none starts there."""
    c = cp[i]
    nxt = cp[i + 1] if i + 1 < n else -1
    if c == 36:  # $
        if nxt == 36:
            return _close(cp, n, i + 2, lits, 0)  # $$ ... $$
        if nxt < 0 or flags[nxt] & SPACE:
            return -1
        k = i + 1
        while k < n and cp[k] != 36 and cp[k] != 10:
            k += 1
        if k >= n or cp[k] != 36 or flags[cp[k - 1]] & SPACE:
            return -1
        if k + 1 < n and flags[cp[k + 1]] & DIGIT:
            return -1
        return k + 1
    if c == 92:  # backslash
        if nxt == 91:  # \[ ... \]
            return _close(cp, n, i + 2, lits, 1)
        if nxt == 40:  # \( ... \)
            return _close(cp, n, i + 2, lits, 2)
        if _at(cp, n, i + 1, lits, 3):  # begin{NAME} ... \end{NAME}
            j = i + 7
            while j < n and flags[cp[j]] & WORD:
                j += 1
            if j > i + 7:
                k = j + 1 if j < n and cp[j] == 42 and j + 1 < n and cp[j + 1] == 125 else j
                if k < n and cp[k] == 125:
                    return _close_env(cp, n, k + 1, cp[i + 7:k])
        j = i + 1
        while j < n and ((65 <= cp[j] <= 90) or (97 <= cp[j] <= 122)):
            j += 1
        return j if j > i + 1 else -1
    if c == 96:  # backtick
        if nxt == 96 and i + 2 < n and cp[i + 2] == 96:
            return _close(cp, n, i + 3, lits, 5)
        k = i + 1
        while k < n and cp[k] != 96 and cp[k] != 10:
            k += 1
        return k + 1 if k < n and cp[k] == 96 else -1
    if c == 126:  # ~~~ ... ~~~
        if nxt == 126 and i + 2 < n and cp[i + 2] == 126:
            return _close(cp, n, i + 3, lits, 6)
        return -1
    if c == 104 or c == 119:  # https?:// or www. followed by \S+
        if c == 104:
            j = i + 8 if _at(cp, n, i, lits, 7) else (i + 7 if _at(cp, n, i, lits, 8) else -1)
        else:
            j = i + 4 if _at(cp, n, i, lits, 9) else -1
        if j < 0 or j >= n or flags[cp[j]] & SPACE:
            return -1
        while j < n and not flags[cp[j]] & SPACE:
            j += 1
        return j
    if c == 60:  # <think> </think> <answer> </answer>
        for t in range(10, 14):
            if _at(cp, n, i, lits, t):
                return i + lits[t, 0]
    return -1


@njit(cache=True, nogil=True)
def _word_value(keys, vals, h):
    """The table's value for word hash h (0: not a function word or symbol)."""
    mask = len(keys) - 1
    slot = np.int64(h >> np.uint64(64 - _SLOTS_LOG2))
    while keys[slot] != 0:
        if keys[slot] == h:
            return vals[slot]
        slot = (slot + 1) & mask
    return 0


@njit(cache=True, nogil=True)
def _reasoning(cp, n, lits):
    """(start, end) of ``split_think``'s reasoning before strip(): after the last ``<think>``
    that precedes the last ``</think>`` (ASCII case-insensitive), or the whole text."""
    end = -1
    k = n - 8
    while k >= 0:
        if cp[k] == 60 and _at(cp, n, k, lits, _THINK_END, True):
            end = k
            break
        k -= 1
    if end < 0:
        return 0, n
    k = end - 7
    while k >= 0:
        if cp[k] == 60 and _at(cp, n, k, lits, _THINK, True):
            return k + 7, end
        k -= 1
    return 0, end


@njit(cache=True, nogil=True)
def _count_row(cp, n, bit, flags, cls, lower, keys, vals, max_word, latin_mask, lits, out):
    for k in range(n):
        if cp[k] > 0xFFFF or (flags[cp[k]] & ODD) != 0 or (cp[k] == 124 and _at(cp, n, k, lits, _SPECIAL_TOKEN)):
            out[STATUS] = FALLBACK
            return
    s, e = _reasoning(cp, n, lits)
    runs = latin_words = own = foreign = han = kana = hangul = 0
    run_len = 0
    up = lowtitle = False
    h_low = _OFFSET_U64
    in_hangul = False
    i = s
    while i <= e:
        c = -1
        if i < e:
            c = cp[i]
            # a _STRIP branch can start here ('h'/'w' only as "ht"/"ww": most are plain letters)
            if flags[c] & START and (c != 104 or (i + 1 < e and cp[i + 1] == 116)) \
                    and (c != 119 or (i + 1 < e and cp[i + 1] == 119)):
                end = _strip_end(cp, e, i, flags, lits)
            else:
                end = -1
            if end < 0:
                i += 1
            else:
                c = -1
                i = end  # the stripped span reads as one space
        else:
            i += 1
        f = flags[c] if c >= 0 else 0
        if f & LATIN:
            run_len += 1
            up |= (f & UPPER) != 0
            lowtitle |= (f & LOWTITLE) != 0
            h_low = (h_low ^ np.uint64(lower[c])) * _PRIME_U64
        else:
            if run_len >= 2:
                runs += 1
                m = _word_value(keys, vals, h_low) if run_len <= max_word else 0
                # symbols are lower-case ASCII, so a run is one iff it lowers to one and has no capital
                if not up and (m & SYMBOL) == 0 or up and lowtitle:
                    latin_words += 1
                if bit:
                    if m:
                        others = m & latin_mask & ~bit
                        if m & bit and others == 0:
                            own += 1
                        elif m & bit == 0 and others != 0:
                            foreign += 1
            run_len = 0
            up = lowtitle = False
            h_low = _OFFSET_U64
            if c >= 0:
                k = cls[c]
                if k == 1:
                    han += 1
                elif k == 2:
                    kana += 1
                elif k == 4:
                    out[STATUS] = FALLBACK
                    return
                if k == 3:
                    if not in_hangul:
                        hangul += 1
                    in_hangul = True
                else:
                    in_hangul = False
            else:
                in_hangul = False
    out[RUNS] = runs
    out[LATIN_WORDS] = latin_words
    out[OWN] = own
    out[FOREIGN] = foreign
    out[HAN] = han
    out[KANA] = kana
    out[HANGUL] = hangul


@njit(cache=True, nogil=True)
def _scan(data, starts, ends, bits, flags, cls, lower, keys, vals, max_word, latin_mask, lits, out):
    width = 0
    for r in range(len(starts)):
        width = max(width, ends[r] - starts[r])
    cp = np.empty(width + 1, np.int32)
    for r in range(len(starts)):
        n = _decode(data, starts[r], ends[r], cp)
        _count_row(cp, n, bits[r], flags, cls, lower, keys, vals, max_word, latin_mask, lits, out[r])




def _utf8(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(bytes, starts, ends) of a batch of strings, joined (lone surrogates kept, as Python holds them);
    a ``batch_text.Utf8Rows`` is read in place."""
    from factory.rewards.batch_text import Utf8Rows

    if isinstance(texts, Utf8Rows):
        return texts.data, texts.starts, texts.ends
    encoded = [s.encode("utf-8", "surrogatepass") for s in texts]
    lengths = np.fromiter(map(len, encoded), np.int64, count=len(encoded))
    ends = np.cumsum(lengths)
    return np.frombuffer(b"".join(encoded), np.uint8), ends - lengths, ends


# ---------------------------------------------------------------- line statistics (readability)

@njit(cache=True, nogil=True)
def _char_at(data, i):
    """(code point, byte length) of the UTF-8 character starting at data[i]."""
    b = data[i]
    if b < 0x80:
        return np.int64(b), 1
    if b < 0xE0:
        return np.int64(((b & 0x1F) << 6) | (data[i + 1] & 0x3F)), 2
    if b < 0xF0:
        return np.int64(((b & 0x0F) << 12) | ((data[i + 1] & 0x3F) << 6) | (data[i + 2] & 0x3F)), 3
    return np.int64(((b & 0x07) << 18) | ((data[i + 1] & 0x3F) << 12) | ((data[i + 2] & 0x3F) << 6)
                    | (data[i + 3] & 0x3F)), 4


@njit(cache=True, nogil=True)
def _is_space(flags, c):
    return c <= 0xFFFF and (flags[c] & SPACE) != 0


@njit(cache=True, nogil=True)
def _break_len(data, i, e):
    """Byte length of the ``str.splitlines()`` line end at data[i] (0: none; "\r\n" is one end)."""
    b = data[i]
    if 0x20 <= b < 0x80:
        return 0
    if b == 0x0D:
        return 2 if i + 1 < e and data[i + 1] == 0x0A else 1
    if 0x0A <= b <= 0x0C or 0x1C <= b <= 0x1E:
        return 1
    if b == 0xC2 and i + 1 < e and data[i + 1] == 0x85:
        return 2
    if b == 0xE2 and i + 2 < e and data[i + 1] == 0x80 and (data[i + 2] == 0xA8 or data[i + 2] == 0xA9):
        return 3
    return 0


@njit(cache=True, nogil=True)
def _chars(data, a, b):
    """Code points in the UTF-8 bytes data[a:b] (every byte but continuation bytes starts one)."""
    n = 0
    for k in range(a, b):
        n += (data[k] & 0xC0) != 0x80
    return n


_ASCII_HIGH = np.uint64(0x8080808080808080)
_LINE_MULT = np.uint64(0x9E3779B97F4A7C15)


@njit(cache=True, nogil=True)
def _word(data, k):
    """The 8 bytes data[k:k+8] as one little-endian uint64."""
    w = np.uint64(0)
    for t in range(8):
        w |= np.uint64(data[k + t]) << np.uint64(8 * t)
    return w


@njit(cache=True, nogil=True)
def _line_hash(data, a, b):
    """(hash, code points) of data[a:b], eight bytes per step (equal hashes are compared byte
    for byte, so the hash only has to spread lines, not be strong)."""
    h = np.uint64(b - a)
    chars = 0
    k = a
    while k + 8 <= b:
        w = _word(data, k)
        h = (h ^ w) * _LINE_MULT
        h ^= h >> np.uint64(31)
        if w & _ASCII_HIGH:
            for t in range(8):
                chars += (data[k + t] & 0xC0) != 0x80
        else:
            chars += 8
        k += 8
    w = np.uint64(0)
    for t in range(k, b):
        w = (w << np.uint64(8)) | np.uint64(data[t])
        chars += (data[t] & 0xC0) != 0x80
    h = (h ^ w) * _LINE_MULT
    return h ^ (h >> np.uint64(29)), chars


@njit(cache=True, nogil=True)
def _max_line_repeats(data, s, e, flags, min_chars, keys, begins, lens):
    """How often the most frequent ``line.strip()`` of >= min_chars code points occurs in
    ``str.splitlines()``, read on the UTF-8 bytes; 0 without such lines, -1 on a hash collision
    (equal hashes are checked byte for byte; Python decides)."""
    m = 0
    i = s
    while i < e:
        j = i
        brk = 0
        while j < e:
            c = data[j]
            if 0x20 <= c < 0x80:  # printable ASCII never ends a line
                j += 1
                continue
            brk = _break_len(data, j, e)
            if brk:
                break
            j += 1
        a, b = i, j
        while a < b:  # strip(): leading and trailing str.isspace() characters
            c = data[a]
            if 0x20 < c < 0x80:
                break
            cp, w = _char_at(data, a)
            if not _is_space(flags, cp):
                break
            a += w
        while b > a:
            k = b - 1
            c = data[k]
            if 0x20 < c < 0x80:
                break
            while (data[k] & 0xC0) == 0x80:
                k -= 1
            cp, w = _char_at(data, k)
            if not _is_space(flags, cp):
                break
            b = k
        if b - a >= min_chars:
            h, chars = _line_hash(data, a, b)
            if chars >= min_chars:
                keys[m], begins[m], lens[m] = h, a, b - a
                m += 1
        i = j + max(brk, 1)
    if m == 0:
        return 0
    order = np.argsort(keys[:m])
    best = run = 1
    for k in range(1, m):
        p, q = order[k - 1], order[k]
        if keys[p] == keys[q]:
            if lens[p] != lens[q] or not _same(data, begins[p], begins[q], lens[p]):
                return -1
            run += 1
            best = max(best, run)
        else:
            run = 1
    return best


@njit(cache=True, nogil=True)
def _same(data, a, b, m):
    for k in range(m):
        if data[a + k] != data[b + k]:
            return False
    return True


@njit(cache=True, nogil=True)
def _longest_paragraph(data, s, e):
    """Longest piece of ``re.split(r"\n[ \t]*\n", text)`` in code points; -1 when the text
    holds "``" or "~~" (fenced blocks are cut out first: Python decides)."""
    best = 0
    piece = 0  # code points in the current piece
    i = s
    while i < e:
        c = data[i]
        if (c == 96 or c == 126) and i + 1 < e and data[i + 1] == c:
            return -1
        if c == 10:
            j = i + 1
            while j < e and (data[j] == 32 or data[j] == 9):
                j += 1
            if j < e and data[j] == 10:
                best = max(best, piece)
                piece = 0
                i = j + 1
                continue
        piece += (c & 0xC0) != 0x80
        i += 1
    return max(best, piece)


@njit(cache=True, nogil=True)
def _line_scratch(starts, ends):
    """(keys, begins, lens) arrays long enough for every line of the batch's longest row."""
    width = 0
    for r in range(len(starts)):
        width = max(width, ends[r] - starts[r])
    return np.empty(width + 1, np.uint64), np.empty(width + 1, np.int64), np.empty(width + 1, np.int64)


@njit(cache=True, nogil=True)
def _line_scan(data, starts, ends, flags, min_chars, out):
    keys, begins, lens = _line_scratch(starts, ends)
    for r in range(len(starts)):
        out[r, 0] = _max_line_repeats(data, starts[r], ends[r], flags, min_chars, keys, begins, lens)
        out[r, 1] = _longest_paragraph(data, starts[r], ends[r])


def line_stats(texts: Sequence[str], min_line_chars: int) -> np.ndarray:
    """int64 ``[len(texts), 2]``: (max repeats of a stripped line of >= ``min_line_chars``,
    longest blank-line-separated paragraph); -1 where only the Python path can tell."""
    data, starts, ends = _utf8(texts)
    out = np.zeros((len(texts), 2), np.int64)
    _line_scan(data, starts, ends, tables().flags, min_line_chars, out)
    return out


# ---------------------------------------------------------------- format facts (format_reward)

READABLE_OK, R1_ZERO_OK, ANSWER_TAG, SPECIAL = range(4)
# text_facts columns after the four format facts
HAS_SUMMARY, ODD_CHAR, FENCE, CHARS, TAIL_START, REPEATS, PARAGRAPH = range(4, 11)
N_FACTS = 11


@njit(cache=True, nogil=True)
def _has_text(data, flags, a, b):
    """Whether the UTF-8 bytes data[a:b] hold a character that is not ``str.isspace()``."""
    while a < b:
        c, w = _char_at(data, a)
        if not _is_space(flags, c):
            return True
        a += w
    return False


@njit(cache=True, nogil=True)
def _format_row(data, s, e, flags, tags, prefilled, out):
    """``readable_format_ok`` / ``r1_zero_format_ok`` of one row, on its bytes (tags are ASCII,
    so a byte match is a character match); SPECIAL rows are left to Python."""
    count = np.zeros(4, np.int64)
    first = np.full(4, -1, np.int64)
    i = s
    while i < e:
        c = data[i]
        if c == 60:
            for t in range(4):  # <think> </think> <answer> </answer>
                if _at(data, e, i, tags, _THINK + t):
                    if first[t] < 0:
                        first[t] = i
                    count[t] += 1
                    break
        elif c == 124 and _at(data, e, i, tags, _SPECIAL_TOKEN):
            out[SPECIAL] = 1
            return
        i += 1
    out[ANSWER_TAG] = count[2] + count[3] > 0
    if count[0] != (0 if prefilled else 1) or count[1] != 1:
        return
    start = s
    if not prefilled:
        if _has_text(data, flags, s, first[0]):
            return
        start = first[0] + 7
    end = first[1]
    if end < start or not _has_text(data, flags, start, end):
        return
    rest = end + 8
    out[READABLE_OK] = _has_text(data, flags, rest, e)
    if count[2] != 1 or count[3] != 1:
        return
    a, b = first[2], first[3]
    if a < rest or b < a or _has_text(data, flags, rest, a) or _has_text(data, flags, b + 9, e):
        return
    out[R1_ZERO_OK] = _has_text(data, flags, a + 8, b)


@njit(cache=True, nogil=True)
def _format_scan(data, starts, ends, flags, tags, prefilled, out):
    for r in range(len(starts)):
        _format_row(data, starts[r], ends[r], flags, tags, prefilled, out[r])


def format_facts(texts: Sequence[str], think_prefilled: bool = False) -> np.ndarray:
    """int64 ``[len(texts), 4]``: readable format ok, R1-Zero format ok, holds an answer tag,
    holds ``|special_token|`` (then the first three are unset: the Python checks decide)."""
    data, starts, ends = _utf8(texts)
    out = np.zeros((len(texts), 4), np.int64)
    _format_scan(data, starts, ends, tables().flags, _literals(), think_prefilled, out)
    return out


# ---------------------------------------------------------------- every per-text fact, one call

@njit(cache=True, nogil=True)
def _row_facts(data, s, e, flags, tags, window, out):
    """HAS_SUMMARY (after the last ``</think>``, ASCII case folded as ``re.IGNORECASE`` does for
    ASCII), ODD_CHAR (a character that folds into ``</think>`` or lowers into ASCII: Python
    decides), FENCE (a literal ``` or ~~~), CHARS (code points) and TAIL_START (byte offset of the
    last ``window`` code points)."""
    last = -1
    odd = fence = 0
    chars = 0
    i = s
    while i < e:
        c = data[i]
        if c < 0x80:
            if c == 60 and _at(data, e, i, tags, _THINK_END, True):
                last = i
            elif (c == 96 or c == 126) and i + 2 < e and data[i + 1] == c and data[i + 2] == c:
                fence = 1
            i += 1
        else:
            cp, w = _char_at(data, i)
            if cp <= 0xFFFF and (flags[cp] & ODD) != 0:
                odd = 1
            i += w
        chars += 1
    out[ODD_CHAR], out[FENCE], out[CHARS] = odd, fence, chars
    out[HAS_SUMMARY] = last >= 0 and _has_text(data, flags, last + 8, e)
    tail = e
    if chars <= window:
        tail = s
    else:
        k = 0
        while k < window:
            tail -= 1
            while (data[tail] & 0xC0) == 0x80:
                tail -= 1
            k += 1
    out[TAIL_START] = tail


@njit(cache=True, nogil=True)
def _facts_scan(data, starts, ends, flags, tags, prefilled, lines, min_chars, window, out):
    keys, begins, lens = _line_scratch(starts if lines else starts[:0], ends)
    for r in range(len(starts)):
        s, e = starts[r], ends[r]
        _format_row(data, s, e, flags, tags, prefilled, out[r])
        if out[r, SPECIAL]:
            continue
        _row_facts(data, s, e, flags, tags, window, out[r])
        if lines:
            out[r, REPEATS] = _max_line_repeats(data, s, e, flags, min_chars, keys, begins, lens)
            out[r, PARAGRAPH] = _longest_paragraph(data, s, e)


def text_facts(rows, *, lines: bool, min_line_chars: int = 20, window: int = 4096,
               think_prefilled: bool = False) -> np.ndarray:
    """int64 ``[len(rows), N_FACTS]`` for ``Utf8Rows`` (read in place): the format facts, then
    the readability facts (line stats only with ``lines``). A SPECIAL row has only its SPECIAL
    set: the ``|special_token|`` format is left to Python, as is an ODD_CHAR row's summary."""
    out = np.zeros((len(rows), N_FACTS), np.int64)
    _facts_scan(rows.data, rows.starts, rows.ends, tables().flags, _literals(), think_prefilled, lines,
                min_line_chars, window, out)
    return out


# ---------------------------------------------------------------- </think> in Arrow buffers (accuracy)

@njit(cache=True, nogil=True)
def _think_end_scan(data, starts, ends, tags, out):
    for r in range(len(starts)):
        s, e = starts[r], ends[r]
        pipes = 0
        for i in range(s, e):  # no early exit: LLVM vectorises the count (~0.1 ns a byte)
            pipes += data[i] == 124
        found = -1
        if pipes:
            for i in range(s, e):
                c = data[i]
                if c == 124 and _at(data, e, i, tags, _SPECIAL_TOKEN):
                    found = -2
                    break
                if c == 60 and _at(data, e, i, tags, _THINK_END):
                    found = i
        else:  # the last tag: from the end, where R1's summary is short
            i = e - 8
            while i >= s:
                if data[i] == 60 and _at(data, e, i, tags, _THINK_END):
                    found = i
                    break
                i -= 1
        out[r] = found


@njit(cache=True, nogil=True)
def _summary_hashes(data, ends, think, out):
    for r in range(len(think)):
        k = think[r]
        out[r] = _line_hash(data, k + 8, ends[r])[0] if k >= 0 else np.uint64(0)


def summary_keys(data: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(``think_ends``, a 64-bit hash of the bytes after that ``</think>``, 0 where there is none):
    accuracy extracts one answer per distinct summary and decodes no other."""
    think = think_ends(data, starts, ends)
    hashes = np.empty(len(think), np.uint64)
    _summary_hashes(data, ends, think, hashes)
    return think, hashes


def think_ends(data: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Per row of UTF-8 bytes ``data[starts[r]:ends[r]]``: the absolute offset of its last
    ``</think>``, -1 without one, -2 when it holds ``|special_token|`` (read in place: an Arrow
    string column's data buffer as uint8, its offsets as starts/ends)."""
    out = np.empty(len(starts), np.int64)
    _think_end_scan(data, starts, ends, _literals(), out)
    return out


def count_batch(texts: Sequence[str], languages: Sequence[str]) -> np.ndarray:
    """int64 ``[len(texts), N_OUT]`` counts per text (column ``STATUS`` = FALLBACK: use Python).

    ``languages`` are normalised codes; only their function-word gate bit reaches the kernel.
    """
    t = tables()
    data, starts, ends = _utf8(texts)
    bits = np.array([t.lang_bit.get(lang, 0) for lang in languages], np.int64)
    out = np.zeros((len(texts), N_OUT), np.int64)
    _scan(data, starts, ends, bits, t.flags, t.cls, t.lower, t.word_keys, t.word_vals, t.max_word,
          np.int64(t.latin_mask), _literals(), out)
    return out


def share_from_counts(row: list[int], lang: str) -> float | None:
    """The share ``language.consistency()`` gives, from one ``count_batch`` row of a text in
    normalised language ``lang``; None where only the Python path can tell."""
    status, runs, latin, own, foreign, han, kana, hangul = row
    if status == FALLBACK:
        return None
    total = han + kana + hangul + latin
    if total == 0:
        return 1.0
    script = LANGUAGE_SCRIPT[lang]
    if script == "latin":
        if latin and not (lang in tables().lang_bit and gate_passes(runs, own, foreign)):
            return None  # the function-word gate does not clear it: language ID decides
        target = latin
    elif script == "han":
        if kana:
            return None  # Kana in a Chinese CoT: Japanese sentences are told apart in Python
        target = han
    elif script == "japanese":
        if han or kana:
            return None
        target = 0
    else:  # hangul, or a script absent from the text (the kernel flags every other script)
        target = hangul if script == "hangul" else 0
    return target / total

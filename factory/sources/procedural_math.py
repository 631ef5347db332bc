"""Math task generators with exact gold answers: numbers are drawn with numpy, golds computed exactly.

Each generator takes ``(rng, lang)`` — the block's random generator and per-item language
indices — and returns :class:`Generated` columns. Metadata JSON carries the task kind and
its parameters so a scripted teacher can write a worked solution.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from factory.sources.procedural_common import Generated, fraction_text, levels, ordinal, reduce, render

# -- arithmetic: integer expressions with + - * and parentheses --------------------------------

_OPS = np.array(["+", "-", "*"])
_PREC = np.array([1, 1, 2])
_LEAF_PREC = 3
_ARITH_TERMS = {1: (2,), 2: (3,), 3: (3, 4), 4: (4,), 5: (4, 5)}  # level -> term counts
_ARITH_MAX = np.array([0, 20, 30, 50, 100, 100])  # level -> largest number
_ARITH_TEXT = (
    ("Compute ${e}$.", "What is the value of ${e}$?", "Evaluate ${e}$."),
    ("计算 ${e}$ 的值。", "求 ${e}$ 的值。", "请计算 ${e}$。"),
)


@lru_cache(maxsize=None)
def tree_shapes(leaves: int) -> tuple:
    """Every binary tree with ``leaves`` leaves, as nested pairs; ``None`` is a leaf.

    >>> len(tree_shapes(3)), len(tree_shapes(4))
    (2, 5)
    """
    if leaves == 1:
        return (None,)
    return tuple(
        (left, right)
        for k in range(1, leaves)
        for left in tree_shapes(k)
        for right in tree_shapes(leaves - k)
    )


def _eval_tree(shape, nums: np.ndarray, ops: np.ndarray, pos: list[int]) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Value, text (minimal parentheses) and top precedence of ``shape`` for every row at once."""
    if shape is None:
        col = nums[:, pos[0]]
        pos[0] += 1
        return col, [str(v) for v in col.tolist()], np.full(len(col), _LEAF_PREC)
    lv, ls, lp = _eval_tree(shape[0], nums, ops, pos)
    rv, rs, rp = _eval_tree(shape[1], nums, ops, pos)
    op = ops[:, pos[1]]
    pos[1] += 1
    value = np.where(op == 0, lv + rv, np.where(op == 1, lv - rv, lv * rv))
    prec = _PREC[op]
    lpar = (lp < prec).tolist()
    rpar = ((rp < prec) | ((rp == prec) & (op == 1))).tolist()  # a - (b + c) keeps its parentheses
    text = [
        f"{'(' + a + ')' if pa_ else a} {o} {'(' + b + ')' if pb else b}"
        for a, b, o, pa_, pb in zip(ls, rs, _OPS[op].tolist(), lpar, rpar)
    ]
    return value, text, prec


def arithmetic(rng: np.random.Generator, lang: np.ndarray) -> Generated:
    """Integer expressions such as ``3 + 4 * (5 - 2)``; gold is the exact integer value."""
    m = len(lang)
    level = levels(rng, m)
    choice = rng.random(m)
    terms = np.array([_ARITH_TERMS[lv][int(c * len(_ARITH_TERMS[lv]))] for lv, c in zip(level.tolist(), choice)])
    shape_pick = rng.random(m)
    nums = rng.integers(1, _ARITH_MAX[level][:, None] + 1, size=(m, 5))
    ops = rng.integers(0, 3, size=(m, 4))
    variant = rng.integers(0, 3, size=m)
    expr: list = [None] * m
    answer: list = [None] * m
    for k in sorted(set(terms.tolist())):
        shapes = tree_shapes(k)
        pick = np.minimum((shape_pick * len(shapes)).astype(int), len(shapes) - 1)
        for s, shape in enumerate(shapes):
            rows = np.flatnonzero((terms == k) & (pick == s))
            if rows.size:
                value, text, _ = _eval_tree(shape, nums[rows], ops[rows], [0, 0])
                for r, t, v in zip(rows.tolist(), text, value.tolist()):
                    expr[r], answer[r] = t, str(v)
    latex = [e.replace("*", "\\times") for e in expr]
    meta = [f'{{"task": "arithmetic", "expression": "{e}", "terms": {k}}}' for e, k in zip(expr, terms.tolist())]
    return Generated(render(_ARITH_TEXT, lang, variant, e=latex), answer, None, meta, level)


# -- add_sub: one addition or subtraction of two numbers (small models learn it digit by digit) --

_ADD_SUB_MAX = np.array([0, 9, 12, 20, 30, 50])  # level -> largest number


def add_sub(rng: np.random.Generator, lang: np.ndarray) -> Generated:
    """``a + b`` or ``a - b`` with numbers up to 9, 12, 20, 30 or 50 by level: a task a model trained from
    scratch on CPU in minutes can learn, so the whole R1 recipe runs end to end on it (``factory recipe``)."""
    m = len(lang)
    level = levels(rng, m)
    nums = rng.integers(0, _ADD_SUB_MAX[level][:, None] + 1, size=(m, 2))
    minus = rng.random(m) < 0.5
    variant = rng.integers(0, 3, size=m)
    expr = [f"{a} {'-' if s else '+'} {b}" for (a, b), s in zip(nums.tolist(), minus.tolist())]
    answer = [str(a - b if s else a + b) for (a, b), s in zip(nums.tolist(), minus.tolist())]
    meta = [f'{{"task": "add_sub", "expression": "{e}", "terms": 2}}' for e in expr]
    return Generated(render(_ARITH_TEXT, lang, variant, e=expr), answer, None, meta, level)


# -- fractions: sums, differences, products and quotients of fractions -------------------------

_FRAC_MAX_DEN = np.array([0, 6, 10, 12, 12, 20])
_FRAC_OPS = ("+", "-", "*", "/")
_FRAC_TEX = {"+": "+", "-": "-", "*": "\\times", "/": "\\div"}
_FRAC_TEXT = (
    ("Compute ${e}$. Give the answer as a fraction in lowest terms.", "Simplify ${e}$ to lowest terms."),
    ("计算 ${e}$，结果化为最简分数。", "计算 ${e}$ 的值（结果用最简分数表示）。"),
)


def fractions(rng: np.random.Generator, lang: np.ndarray) -> Generated:
    """Two fractions with any of + - × ÷ (levels 1-3), or three with + - (levels 4-5), left to right."""
    m = len(lang)
    level = levels(rng, m)
    den = rng.integers(2, _FRAC_MAX_DEN[level][:, None] + 1, size=(m, 3))
    num = rng.integers(1, np.where((level >= 3)[:, None], 2 * den, den))  # improper fractions from level 3 on
    num = np.where(num == den, den - 1, num)  # never a whole number like 2/2
    n_ops = np.where(level >= 4, 2, 1)
    allowed = np.array([0, 1, 2, 4, 2, 2])[level]  # how many of + - * / the level may use
    ops = (rng.random((m, 2)) * allowed[:, None]).astype(int)
    acc_n, acc_d = num[:, 0].copy(), den[:, 0].copy()
    for j in range(2):
        live = n_ops > j
        n2, d2, op = num[:, j + 1], den[:, j + 1], ops[:, j]
        cross = (acc_n * d2 + n2 * acc_d, acc_n * d2 - n2 * acc_d, acc_n * n2)
        new_n = np.select([op == 0, op == 1, op == 2], cross, acc_n * d2)
        new_d = np.select([op == 3], [acc_d * n2], acc_d * d2)
        acc_n, acc_d = reduce(np.where(live, new_n, acc_n), np.where(live, new_d, acc_d))
    variant = rng.integers(0, 2, size=m)
    tex = [f"\\frac{{{a}}}{{{b}}}" for a, b in zip(num.ravel().tolist(), den.ravel().tolist())]
    pairs = [f"[{a}, {b}]" for a, b in zip(num.ravel().tolist(), den.ravel().tolist())]
    sym = [_FRAC_OPS[o] for o in ops.ravel().tolist()]
    texts, metas = [], []
    for i, k in enumerate(n_ops.tolist()):
        t, o = 3 * i, 2 * i
        if k == 1:
            texts.append(f"{tex[t]} {_FRAC_TEX[sym[o]]} {tex[t + 1]}")
            metas.append(f'{{"task": "fraction", "terms": [{pairs[t]}, {pairs[t + 1]}], "ops": ["{sym[o]}"]}}')
        else:
            texts.append(f"{tex[t]} {_FRAC_TEX[sym[o]]} {tex[t + 1]} {_FRAC_TEX[sym[o + 1]]} {tex[t + 2]}")
            metas.append(f'{{"task": "fraction", "terms": [{pairs[t]}, {pairs[t + 1]}, {pairs[t + 2]}], '
                         f'"ops": ["{sym[o]}", "{sym[o + 1]}"]}}')
    answer = [fraction_text(a, b) for a, b in zip(acc_n.tolist(), acc_d.tolist())]
    return Generated(render(_FRAC_TEXT, lang, variant, e=texts), answer, None, metas, level)


# -- linear equations: a*x + b = d*x + c --------------------------------------------------------

_LIN_TEXT = (
    ("Solve for $x$: ${e}$.", "Find $x$ if ${e}$."),
    ("解方程 ${e}$。", "求满足 ${e}$ 的 $x$ 的值。"),
)


def _side(coef: int, const: int) -> str:
    """``3x - 5``, ``-x``, ``7``: one side of a linear equation."""
    if coef == 0:
        return str(const)
    head = "x" if coef == 1 else "-x" if coef == -1 else f"{coef}x"
    if const == 0:
        return head
    return f"{head} {'+' if const > 0 else '-'} {abs(const)}"


def linear_equation(rng: np.random.Generator, lang: np.ndarray) -> Generated:
    """``a x + b = c`` (levels 1-3) or ``a x + b = d x + c`` (4-5); levels 3 and 5 allow fractional x."""
    m = len(lang)
    level = levels(rng, m)
    mag = np.array([0, 5, 9, 12, 9, 15])[level]
    sign = np.where((level >= 2) & (rng.random(m) < 0.4), -1, 1)
    a = rng.integers(2, mag + 1) * sign
    d = np.where(level >= 4, rng.integers(-mag, mag + 1), 0)
    d = np.where(d == a, a + 1, d)  # a - d must not vanish
    bound = 10 * level
    b = rng.integers(np.where(level == 1, 1, -bound), bound + 1)
    x = rng.integers(np.where(level == 1, 0, -10), 11)
    free_c = rng.integers(-bound, bound + 1)
    fractional = (level == 3) | (level == 5)
    c = np.where(fractional, free_c, (a - d) * x + b)
    xn, xd = reduce(c - b, a - d)
    variant = rng.integers(0, 2, size=m)
    rows = list(zip(a.tolist(), b.tolist(), c.tolist(), d.tolist()))
    eqs = [f"{_side(ai, bi)} = {_side(di, ci)}" for ai, bi, ci, di in rows]
    meta = [f'{{"task": "linear_equation", "a": {ai}, "b": {bi}, "c": {ci}, "d": {di}}}' for ai, bi, ci, di in rows]
    answer = [fraction_text(p, q) for p, q in zip(xn.tolist(), xd.tolist())]
    return Generated(render(_LIN_TEXT, lang, variant, e=eqs), answer, None, meta, level)


# -- combinatorics: nCr, nPr, arrangements of letters with repeats -----------------------------

_NCR_TEXT = (
    ("In how many ways can a committee of {r} people be chosen from {n} people?", "Compute $\\binom{{{n}}}{{{r}}}$."),
    ("从 {n} 个人中选出 {r} 人组成一个委员会，共有多少种不同的选法？", "计算组合数 $\\binom{{{n}}}{{{r}}}$ 的值。"),
)
_NPR_TEXT = (
    ("In how many ways can {r} of {n} people be seated in a row of {r} chairs?",
     "How many ordered arrangements of {r} objects can be made from {n} distinct objects?"),
    ("从 {n} 个人中选出 {r} 人排成一排，共有多少种不同的排法？", "从 {n} 个不同的元素中任取 {r} 个进行排列，共有多少种排列方法？"),
)
_WORD_TEXT = (
    ('How many distinct arrangements of the letters of the word "{w}" are there?',
     'How many different strings can be formed by rearranging all the letters of "{w}"?'),
    ("将“{w}”的所有字母重新排列，可以得到多少种不同的字母串？", "用“{w}”中的全部字母可以排成多少个不同的字母串？"),
)
_LETTERS = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", dtype=np.uint8)


def combinatorics(rng: np.random.Generator, lang: np.ndarray) -> Generated:
    """Choose (nCr), arrange (nPr) or count distinct arrangements of a word with repeated letters."""
    m = len(lang)
    level = levels(rng, m)
    kind = rng.integers(0, 3, size=m)
    n = rng.integers(5, 6 + 4 * level)
    r_choose = rng.integers(2, n - 1)
    r_perm = rng.integers(2, np.minimum(n, 2 + level) + 1)
    letters = np.argsort(rng.random((m, 26)), axis=1)[:, :4]
    distinct = rng.integers(2, 2 + np.minimum(level, 3))
    counts = rng.integers(1, (2 + (level + 1) // 2)[:, None], size=(m, 4)) * (np.arange(4) < distinct[:, None])
    keys = rng.random((m, 16))
    variant = rng.integers(0, 2, size=m)
    prompt, answer, meta = [None] * m, [None] * m, [None] * m
    for k, texts in enumerate((_NCR_TEXT, _NPR_TEXT)):
        rows = np.flatnonzero(kind == k)
        ns, rs = n[rows].tolist(), (r_choose if k == 0 else r_perm)[rows].tolist()
        fn, label = (math.comb, "ncr") if k == 0 else (math.perm, "npr")
        for i, text, nn, rr in zip(rows.tolist(), render(texts, lang[rows], variant[rows], n=ns, r=rs), ns, rs):
            prompt[i], answer[i] = text, str(fn(nn, rr))
            meta[i] = f'{{"task": "combinatorics", "kind": "{label}", "n": {nn}, "r": {rr}}}'
    rows = np.flatnonzero(kind == 2)
    words = []
    for i in rows.tolist():
        seq = np.repeat(_LETTERS[letters[i]], counts[i])
        word = seq[np.argsort(keys[i, : len(seq)])].tobytes().decode()
        words.append(word)
        cs = [c for c in counts[i].tolist() if c]
        answer[i] = str(math.factorial(len(word)) // math.prod(math.factorial(c) for c in cs))
        meta[i] = f'{{"task": "combinatorics", "kind": "arrangements", "word": "{word}", "counts": {cs}}}'
    for i, text in zip(rows.tolist(), render(_WORD_TEXT, lang[rows], variant[rows], w=words)):
        prompt[i] = text
    return Generated(prompt, answer, None, meta, level)


# -- sequences: next term or n-th term of arithmetic and geometric sequences ---------------------

_SEQ_NEXT = (
    ("What is the next term of the {kind} sequence {s}, ...?", "Find the next number in the {kind} sequence {s}, ..."),
    ("{kind_zh}数列 {s}, … 的下一项是多少？", "求{kind_zh}数列 {s}, … 的下一项。"),
)
_SEQ_NTH = (
    ("What is the {nth} term of the {kind} sequence {s}, ...?", "Find the {nth} term of the {kind} sequence {s}, ..."),
    ("{kind_zh}数列 {s}, … 的第 {n} 项是多少？", "求{kind_zh}数列 {s}, … 的第 {n} 项。"),
)
_RATIOS = np.array([2, 3, -2, 4, -3])


def sequence(rng: np.random.Generator, lang: np.ndarray) -> Generated:
    """Arithmetic or geometric sequences shown by four terms; ask for the next or the n-th term."""
    m = len(lang)
    level = levels(rng, m)
    geometric = rng.random(m) < 0.4
    nth = rng.random(m) < 0.5
    first_arith = rng.integers(-10 * level, 10 * level + 1)
    step = rng.integers(1, 3 * level + 1) * np.where(rng.random(m) < 0.3, -1, 1)
    first_geo = rng.integers(1, 3 + level) * np.where(rng.random(m) < 0.2, -1, 1)
    ratio = _RATIOS[(rng.random(m) * np.array([0, 2, 2, 3, 5, 5])[level]).astype(int)]
    pos = np.where(nth, np.where(geometric, rng.integers(6, 7 + 2 * level), rng.integers(6, 11 + 10 * level)), 5)
    variant = rng.integers(0, 2, size=m)
    first = np.where(geometric, first_geo, first_arith)
    rule = np.where(geometric, ratio, step)
    k = np.arange(4)
    terms = np.where(geometric[:, None], first[:, None] * rule[:, None] ** k, first[:, None] + k * rule[:, None])
    power = np.where(geometric, pos - 1, 0)  # keeps the unused geometric branch of arithmetic rows small
    gold = np.where(geometric, first * rule**power, first + (pos - 1) * rule)  # |gold| < 1e10: int64 is exact
    shown = [", ".join(map(str, row)) for row in terms.tolist()]
    answer = [str(v) for v in gold.tolist()]
    kinds = np.where(geometric, "geometric", "arithmetic")
    kinds_zh = np.where(geometric, "等比", "等差")
    nths = [ordinal(p) for p in pos.tolist()]
    rule_key = np.where(geometric, "ratio", "step").tolist()
    meta = [
        f'{{"task": "sequence", "kind": "{kd}", "first": {f}, "{key}": {r}, "n": {p}}}'
        for kd, f, key, r, p in zip(kinds.tolist(), first.tolist(), rule_key, rule.tolist(), pos.tolist())
    ]
    prompt = [None] * m
    for texts, mask in ((_SEQ_NEXT, ~nth), (_SEQ_NTH, nth)):
        rows_ = np.flatnonzero(mask)
        out = render(texts, lang[rows_], variant[rows_], kind=kinds[rows_], kind_zh=kinds_zh[rows_],
                     s=np.array(shown, dtype=object)[rows_], n=pos[rows_], nth=np.array(nths, dtype=object)[rows_])
        for i, text in zip(rows_.tolist(), out):
            prompt[i] = text
    return Generated(prompt, answer, None, meta, level)

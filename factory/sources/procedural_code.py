"""Small Python programming tasks whose tests the generator computes exactly, with a reference solution.

``tests`` JSON follows the problems schema: ``{"style": "stdio", "cases": [{"input", "output"}]}``
or ``{"style": "call", "fn_name", "cases": [{"args": [...], "expected": ...}]}``. The
reference solution sits in ``metadata["solution"]`` for the scripted teacher; the first
case is shown in the prompt as the example, which also keeps prompts distinct.
"""

from __future__ import annotations

import json
from functools import lru_cache
from json.encoder import encode_basestring as _q  # C-accelerated JSON string quoting

import numpy as np

from factory.sources.procedural_common import Generated, levels

CASES = 4

# -- stdin/stdout programs -----------------------------------------------------------------------

_READ_NUMS = "import sys\n\ndata = sys.stdin.read().split()\nn = int(data[0])\nnums = list(map(int, data[1 : 1 + n]))\n"
_STDIO = {  # kind -> (English task, Chinese task, reference solution)
    "sum": ("reads an integer n on the first line and n integers on the second line, and prints their sum.",
            "第一行输入一个整数 n，第二行输入 n 个整数，输出它们的和。",
            _READ_NUMS + "print(sum(nums))\n"),
    "max": ("reads an integer n on the first line and n integers on the second line, and prints the largest of them.",
            "第一行输入一个整数 n，第二行输入 n 个整数，输出其中的最大值。",
            _READ_NUMS + "print(max(nums))\n"),
    "sort": ("reads an integer n on the first line and n integers on the second line, and prints them in "
             "ascending order, separated by single spaces.",
             "第一行输入一个整数 n，第二行输入 n 个整数，将它们按从小到大的顺序输出，用一个空格分隔。",
             _READ_NUMS + 'print(" ".join(map(str, sorted(nums))))\n'),
    "reverse_string": ("reads one line of lowercase letters and prints it reversed.",
                       "输入一行由小写字母组成的字符串，输出将其反转后的字符串。",
                       "print(input()[::-1])\n"),
    "count_vowels": ("reads one line of lowercase letters and spaces and prints how many vowels "
                     "(a, e, i, o, u) it contains.",
                     "输入一行只含小写字母和空格的文本，输出其中元音字母（a、e、i、o、u）的个数。",
                     'text = input()\nprint(sum(ch in "aeiou" for ch in text))\n'),
}
_STDIO_FRAME = (
    "Write a Python program that {task}\n\nExample input:\n```\n{inp}```\n\nExample output:\n```\n{out}```",
    "编写一个 Python 程序：{task}\n\n输入样例：\n```\n{inp}```\n\n输出样例：\n```\n{out}```",
)
_ALPHA = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz ", dtype=np.uint8)
_NO_VOWELS = str.maketrans("", "", "aeiou")
_SHOW = {"sum": sum, "max": max, "sort": lambda v: " ".join(map(str, sorted(v)))}


def _stdio_cases(kind: str, nums: list[list[int]], texts: list[str]) -> list[tuple[str, str]]:
    """``(input, output)`` pairs of one item; ``nums``/``texts`` are already cut to each case's size."""
    if kind == "reverse_string":
        return [(t + "\n", t[::-1] + "\n") for t in texts]
    if kind == "count_vowels":
        return [(t + "\n", f"{len(t) - len(t.translate(_NO_VOWELS))}\n") for t in texts]
    show = _SHOW[kind]
    return [(f"{len(v)}\n{' '.join(map(str, v))}\n", f"{show(v)}\n") for v in nums]


def code_stdio(rng: np.random.Generator, lang: np.ndarray) -> Generated:
    """Read numbers or a line from stdin, print one answer; ``CASES`` exact cases per problem."""
    m = len(lang)
    level = levels(rng, m)
    kind = rng.integers(0, len(_STDIO), size=m)
    sizes = rng.integers(1, (2 + 3 * level)[:, None] + 1, size=(m, CASES))
    bound = (10 ** level)[:, None, None]
    nums = rng.integers(-bound, bound + 1, size=(m, CASES, 17))
    lengths = rng.integers(1, (3 + 4 * level)[:, None] + 1, size=(m, CASES))
    spaced = (kind == 4)[:, None, None]
    chars = _ALPHA[rng.integers(0, np.where(spaced, 27, 26), size=(m, CASES, 23))]
    names = list(_STDIO)
    prompt, tests, meta = [], [], []
    for i, (k, lg) in enumerate(zip(kind.tolist(), lang.tolist())):
        name = names[k]
        if k < 3:
            cases = _stdio_cases(name, [row[:n] for row, n in zip(nums[i].tolist(), sizes[i].tolist())], [])
        else:
            raw = chars[i].tobytes()
            texts = [raw[c * 23 : c * 23 + n].decode() for c, n in enumerate(lengths[i].tolist())]
            cases = _stdio_cases(name, [], texts)
        en, zh, solution = _STDIO[name]
        inp, out = cases[0]
        prompt.append(_STDIO_FRAME[lg].format(task=(en, zh)[lg], inp=inp, out=out))
        body = ", ".join([f'{{"input": {_q(a)}, "output": {_q(b)}}}' for a, b in cases])
        tests.append(f'{{"style": "stdio", "cases": [{body}]}}')
        meta.append(_meta("code_stdio", name, solution))
    return Generated(prompt, None, tests, meta, level)


# -- call-based functions ------------------------------------------------------------------------

_CALL = {  # kind -> (signature, English task, Chinese task, reference solution)
    "gcd": ("gcd(a, b)", "returns the greatest common divisor of the positive integers a and b.",
            "返回正整数 a 和 b 的最大公约数。",
            "def gcd(a, b):\n    while b:\n        a, b = b, a % b\n    return a\n"),
    "is_prime": ("is_prime(n)", "returns True if the integer n is a prime number and False otherwise.",
                 "如果整数 n 是质数则返回 True，否则返回 False。",
                 "def is_prime(n):\n    if n < 2:\n        return False\n    i = 2\n    while i * i <= n:\n"
                 "        if n % i == 0:\n            return False\n        i += 1\n    return True\n"),
    "fib": ("fib(n)", "returns the n-th Fibonacci number, where fib(0) = 0 and fib(1) = 1.",
            "返回第 n 个斐波那契数，其中 fib(0) = 0，fib(1) = 1。",
            "def fib(n):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n"),
    "reverse_words": ("reverse_words(s)",
                      "returns the words of the string s in reverse order, joined by single spaces.",
                      "将字符串 s 中单词的顺序反转，单词之间用一个空格连接，返回结果。",
                      'def reverse_words(s):\n    return " ".join(reversed(s.split()))\n'),
}
_CALL_FRAME = (
    "Write a Python function `{sig}` that {task}\n\nExample: `{call}` returns `{ret}`.",
    "编写一个 Python 函数 `{sig}`，{task}\n\n示例：`{call}` 返回 `{ret}`。",
)
_WORDS = np.array(
    "apple river stone cloud green light music paper table window garden orange silver planet "
    "bridge forest yellow summer winter rocket pencil circle number little market travel".split()
)


@lru_cache(maxsize=1)
def _primes(limit: int = 1_000_001) -> tuple[np.ndarray, np.ndarray]:
    """Sieve of Eratosthenes: (is_prime flags up to ``limit``, sorted primes)."""
    flags = np.ones(limit, dtype=bool)
    flags[:2] = False
    for p in range(2, int(limit**0.5) + 1):
        if flags[p]:
            flags[p * p :: p] = False
    return flags, np.flatnonzero(flags)


@lru_cache(maxsize=1)
def _fibs(count: int = 128) -> tuple[int, ...]:
    out = [0, 1]
    while len(out) < count:
        out.append(out[-1] + out[-2])
    return tuple(out)


def _call_cases(rng: np.random.Generator, kind: np.ndarray, level: np.ndarray) -> list[list[tuple[str, str, str]]]:
    """Per item, ``CASES`` exact cases as ``(args text, expected JSON, expected Python literal)``.

    Argument values are ints and double-quoted strings, whose text is the same in JSON and Python.
    """
    m = len(kind)
    common = rng.integers(1, (10**level)[:, None], size=(m, CASES))
    a, b = (common * rng.integers(1, 30, size=(m, CASES)) for _ in range(2))
    g = np.gcd(a, b)
    flags, primes = _primes()
    hi = (10 ** (level + 1))[:, None]
    pick_prime = rng.random((m, CASES)) < 0.5
    prime = primes[(rng.random((m, CASES)) * np.searchsorted(primes, hi)).astype(int)]
    num = np.where(pick_prime, prime, rng.integers(0, hi + 1, size=(m, CASES)))
    fib_n = rng.integers(0, (10 * level + 10)[:, None] + 1, size=(m, CASES))
    n_words = rng.integers(2, (level + 3)[:, None] + 1, size=(m, CASES))
    words = rng.integers(0, len(_WORDS), size=(m, CASES, 8))
    fibs = _fibs()
    out: list = [None] * m
    for k, cases in enumerate((
        lambda i: [(f"{x}, {y}", str(z), str(z)) for x, y, z in zip(a[i].tolist(), b[i].tolist(), g[i].tolist())],
        lambda i: [(str(x), "true", "True") if flags[x] else (str(x), "false", "False") for x in num[i].tolist()],
        lambda i: [(str(x), str(fibs[x]), str(fibs[x])) for x in fib_n[i].tolist()],
        lambda i: [(_q(" ".join(w[:c])), *[_q(" ".join(reversed(w[:c])))] * 2)
                   for w, c in zip(_WORDS[words[i]].tolist(), n_words[i].tolist())],
    )):
        for i in np.flatnonzero(kind == k).tolist():
            out[i] = cases(i)
    return out


def code_call(rng: np.random.Generator, lang: np.ndarray) -> Generated:
    """Write one named function; cases give ``args`` and the exact ``expected`` return value."""
    m = len(lang)
    level = levels(rng, m)
    kind = rng.integers(0, len(_CALL), size=m)
    names = list(_CALL)
    prompt, tests, meta = [], [], []
    for k, lg, cases in zip(kind.tolist(), lang.tolist(), _call_cases(rng, kind, level)):
        name = names[k]
        sig, en, zh, solution = _CALL[name]
        call = f"{name}({cases[0][0]})"
        prompt.append(_CALL_FRAME[lg].format(sig=sig, task=(en, zh)[lg], call=call, ret=cases[0][2]))
        body = ", ".join([f'{{"args": [{args}], "expected": {expected}}}' for args, expected, _ in cases])
        tests.append(f'{{"style": "call", "fn_name": "{name}", "cases": [{body}]}}')
        meta.append(_meta("code_call", name, solution))
    return Generated(prompt, None, tests, meta, level)


@lru_cache(maxsize=None)
def _meta(task: str, kind: str, solution: str) -> str:
    extra = {"fn_name": kind} if task == "code_call" else {}
    return json.dumps({"task": task, "kind": kind, **extra, "solution": solution})

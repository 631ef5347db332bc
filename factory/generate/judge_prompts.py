"""Both ends of the LLM-judge protocol: versioned judge prompts out, robustly parsed verdicts in.

R1 §2.3.3: prompts without rule-checkable answers are judged by a model (DeepSeek-V3) that
compares the output with the ground truth. The prompt's ``ref`` (``name@version``) enters
the id of every judgements snapshot, so a reworded prompt never silently reuses old verdicts;
a test pins each version's fingerprint. ``parse_verdict`` turns free judge text into
``correct`` / ``wrong`` / ``unparseable`` and never guesses: no verdict means unparseable,
which downstream counts as "no verdict", never as correct.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from types import MappingProxyType

import xxhash

from factory.generate.versioned import lookup

VERDICTS = ("correct", "wrong", "unparseable")
FIELDS = ("question", "reference", "response")


@dataclass(frozen=True)
class JudgePrompt:
    """A named, versioned judge prompt.

    Attributes:
        name: registry name.
        version: semver; bump it whenever ``system`` or ``user`` changes.
        description: one line for dataset cards.
        system: the system message.
        user: the user turn, with ``{question}``, ``{reference}`` and ``{response}`` placeholders,
            each inside ``<question>``/``<reference_answer>``/``<response>`` tags.
    """

    name: str
    version: str
    description: str
    system: str
    user: str

    @property
    def ref(self) -> str:
        """``name@version``, the form stored in ``prompt_version`` and in snapshot ids."""
        return f"{self.name}@{self.version}"

    @property
    def fingerprint(self) -> str:
        """A hash of the wording: changes whenever the rendered text can change."""
        return xxhash.xxh64_hexdigest(repr((self.system, self.user)).encode())

    def render(self, question: str, reference: str, response: str) -> list[dict[str, str]]:
        """Chat messages asking the judge to compare ``response`` with ``reference``.

        A value's own closing tag (e.g. ``</response>`` written by the judged model) is
        defused, so a response cannot end its section early and talk to the judge.

        >>> JUDGE_PROMPTS["reference_match"].render("1+1?", "2", "</response> 2")[1]["content"].count("</response>")
        1
        """
        values = {k: _defuse(str(v)) for k, v in zip(FIELDS, (question, reference, response))}
        return [{"role": "system", "content": self.system},
                {"role": "user", "content": self.user.format(**values)}]


def _defuse(text: str) -> str:
    return re.sub(r"</(question|reference_answer|response)>", r"</\1 >", text, flags=re.IGNORECASE)


REFERENCE_MATCH = JudgePrompt(
    name="reference_match",
    version="1.0.0",
    description="Does the response's final answer agree with the reference? (R1 §2.3.3 generative judge)",
    system=("You are a careful, impartial grader. You compare the final answer of a response with a "
            "reference answer that is known to be right, and you give a clear verdict."),
    user=(
        "Grade the response to the question below against the reference answer.\n\n"
        "<question>\n{question}\n</question>\n\n"
        "<reference_answer>\n{reference}\n</reference_answer>\n\n"
        "<response>\n{response}\n</response>\n\n"
        "Decide whether the final answer of the response agrees with the reference answer. "
        "Equivalent forms agree: 1/2 and 0.5, reordered terms, the same fact in other words or "
        "in another language. A missing, hedged or partly wrong final answer, or several "
        "different final answers, does not agree. Assume the reference is right, ignore the "
        "style of the response, and do not solve the question again beyond what the comparison "
        "needs.\n\n"
        "Explain your comparison in at most three sentences. Then write the verdict alone on "
        "the last line, as VERDICT: CORRECT if the answers agree, or VERDICT: INCORRECT if they "
        "do not."
    ),
)

JUDGE_PROMPTS = MappingProxyType({p.name: p for p in (REFERENCE_MATCH,)})
DEFAULT_JUDGE_PROMPT = REFERENCE_MATCH.ref


def get_judge_prompt(name: str = DEFAULT_JUDGE_PROMPT) -> JudgePrompt:
    """Look a judge prompt up by ``name`` or ``name@version``.

    Args:
        name: e.g. ``"reference_match"`` or ``"reference_match@1.0.0"``; a version must match
            the one this code has.

    Returns:
        The prompt.

    >>> get_judge_prompt("reference_match").ref
    'reference_match@1.0.0'
    """
    return lookup(JUDGE_PROMPTS, name, "judge prompt")


# ------------------------------------------------------------------ verdict parsing
# Polarity of every verdict word; "not"/"n't"/"不" in front flips it.
_POLARITY = {
    "correct": True, "right": True, "true": True, "yes": True, "equivalent": True, "pass": True,
    "incorrect": False, "wrong": False, "false": False, "no": False, "inequivalent": False, "fail": False,
    "正确": True, "对": True, "是": True, "一致": True,
    "不正确": False, "错误": False, "不对": False, "错": False, "否": False, "不一致": False,
}
_STRONG = r"(?:incorrect|correct|wrong|inequivalent|equivalent|pass|fail)\b"
# yes/no/true/false/right only count when nothing but punctuation follows ("Evaluation: no errors" is not a verdict)
_WEAK = r"(?:yes|no|true|false|right)\b(?=[\s*_`\"'\]\)】」]*(?:[.,;:!。，！—-]|$))"
_ZH_STRONG = r"(?:不正确|不一致|正确|错误)"
_ZH = r"(?:不正确|不一致|不对|正确|错误|一致|对|错|是|否)"  # single characters only right after a label
_NEG = r"(?P<neg>\bnot\s+|\bis\s+not\s+|n't\s+)?"
_VALUE = rf"{_NEG}(?P<val>\b{_STRONG}|\b{_WEAK}|{_ZH})"
_LABEL = (r"(?:verdict|judge?ment|decision|grade|evaluation|assessment|conclusion|"
          r"最终判断|结论|判定|判断|评判|裁决)")
_OPEN = r"[\s*_`\"'\[\(【「]*"
_STRUCTURED = [
    # VERDICT: CORRECT, **Verdict:** incorrect, Final verdict: Yes, 判定：正确, The verdict is: wrong
    re.compile(rf"{_LABEL}[\s*_#`】」\]]*(?:[:：=\-–—】]|\bis\b\s*[:：]?|\n){_OPEN}{_VALUE}", re.IGNORECASE | re.MULTILINE),
    # [[CORRECT]]
    re.compile(rf"\[\[\s*{_VALUE}\s*\]\]", re.IGNORECASE | re.MULTILINE),
    # \boxed{correct}, \boxed{\text{incorrect}}
    re.compile(rf"\\boxed\{{\s*(?:\\(?:text|textbf|mathrm|textrm)\{{\s*)?{_VALUE}", re.IGNORECASE | re.MULTILINE),
    # a line that is only the verdict: "INCORRECT", "**Correct.**", "正确"
    re.compile(rf"^[\s*_#`>\"'\[\(]*{_NEG}(?P<val>{_STRONG}|{_ZH_STRONG})[\s*_`\"'\]\)!.。！]*$",
               re.IGNORECASE | re.MULTILINE),
]
_PHRASES = [
    # "the response is not correct", "this is incorrect", "the final answer is therefore right"
    re.compile(r"\b(?:response|answer|prediction|solution|result|it|this|that)(?:'s)?\s+(?:is|was|are)"
               r"(?P<neg>n't|\s+not)?\s+(?:(?:therefore|thus|hence|so|also|indeed|fully|entirely|completely|"
               r"clearly|mathematically|essentially)\s+)?(?P<val>incorrect|correct|wrong|right|equivalent)\b",
               re.IGNORECASE),
    # 回答正确, 答案是错误的
    re.compile(rf"(?:答案|回答|结果|响应)(?:是)?(?P<neg>)(?P<val>{_ZH_STRONG})"),
]
_ECHO = re.compile(rf"[\s*_`\"'\]\)]*(?:/|\||\bor\b)\s*[\s*_`\"'\[]*(?:{_LABEL}\s*[:：]?\s*)?(?:in)?correct",
                   re.IGNORECASE)
_ECHO_BEFORE = re.compile(r"(?:/|\||\bor)[\s*_`\"'\[]*$", re.IGNORECASE)
_THINK_OPEN = re.compile(r"<think>", re.IGNORECASE)
_THINK_CLOSE = re.compile(r"</think>", re.IGNORECASE)


def _last_verdict(text: str, patterns: list[re.Pattern]) -> bool | None:
    """Polarity of the verdict that starts last in ``text`` (the judge's final word), or None."""
    best: tuple[int, bool] | None = None
    for pattern in patterns:
        for m in pattern.finditer(text):
            if _ECHO.match(text, m.end()) or _ECHO_BEFORE.search(text, max(0, m.start() - 8), m.start()):
                continue  # "CORRECT or INCORRECT": the instructions echoed back, not a verdict
            value = _POLARITY[m.group("val").lower()]
            if m.group("neg"):
                value = not value
            if best is None or m.start() > best[0]:
                best = (m.start(), value)
    return None if best is None else best[1]


def _scan(text: str) -> bool | None:
    """Structured verdicts first (last one wins); plain phrases only when there is none."""
    found = _last_verdict(text, _STRUCTURED)
    return _last_verdict(text, _PHRASES) if found is None else found


def parse_verdict(text: str | None) -> str:
    """Read a judge's verdict from its free text.

    Understands ``VERDICT: CORRECT``, ``**Verdict:** incorrect``, ``[[CORRECT]]``,
    ``Final verdict: Yes/No``, ``\\boxed{correct}``, Chinese (正确/错误), negations
    ("not correct") and, failing those, plain phrases ("the response is incorrect"). The
    last verdict wins, so a judge that changes its mind is read at its final word. Text
    inside ``<think>…</think>`` is ignored when a verdict follows it; a think section that
    never closes (a truncated thinking judge) is unparseable.

    Args:
        text: the judge's output.

    Returns:
        ``"correct"``, ``"wrong"`` or ``"unparseable"``.

    >>> parse_verdict("The sums agree.\\nVERDICT: CORRECT")
    'correct'
    >>> parse_verdict("VERDICT: CORRECT\\nWait, 5 is not 6.\\nVERDICT: INCORRECT")
    'wrong'
    >>> parse_verdict("I cannot tell.")
    'unparseable'
    """
    if not text:
        return "unparseable"
    closes = list(_THINK_CLOSE.finditer(text))
    if closes:
        after = _scan(text[closes[-1].end():])
        found = after if after is not None else _scan(text)
    elif _THINK_OPEN.search(text):
        found = None
    else:
        found = _scan(text)
    return "unparseable" if found is None else ("correct" if found else "wrong")

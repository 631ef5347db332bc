"""Prompt templates as named, versioned objects, so a generation snapshot's id pins its prompt.

A template turns a problem row (``prompt``, ``domain``, ``language``, gold columns) into chat
messages or raw text. Its ``ref`` (``name@version``) enters the id of every generation
snapshot; any change to a template's text must bump its version (a test pins each
version's fingerprint to enforce that).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import xxhash

from factory.generate.backends.base import Request
from factory.generate.versioned import lookup

_PROMPT_KEYS = ("prompt", "problem", "question")
_GOLD_KEYS = ("answer", "tests", "language", "domain", "metadata")


@dataclass(frozen=True)
class TemplateText:
    """The wording of a template in one language.

    Attributes:
        user: format string for the final user turn; ``{prompt}`` is the problem text.
        system: optional system message.
        math_suffix: appended to the user turn of math problems (``domain == "math"``).
        few_shot: (user, assistant) example exchanges placed before the problem.
    """

    user: str = "{prompt}"
    system: str | None = None
    math_suffix: str = ""
    few_shot: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class PromptTemplate:
    """A named, versioned prompt template.

    Attributes:
        name: registry name.
        version: semver; bump it whenever the rendered text changes.
        description: one line for dataset cards.
        texts: (language, wording) pairs; the first is used for unknown languages.
        raw: the template is a raw completion prompt (R1-Zero), not a chat conversation.
    """

    name: str
    version: str
    description: str
    texts: tuple[tuple[str, TemplateText], ...]
    raw: bool = False

    @property
    def ref(self) -> str:
        """``name@version``, the form that enters snapshot ids and manifests."""
        return f"{self.name}@{self.version}"

    @property
    def fingerprint(self) -> str:
        """A hash of the template's wording: changes whenever the rendered text can change."""
        return xxhash.xxh64_hexdigest(repr((self.texts, self.raw)).encode())

    def text_for(self, language: str | None) -> TemplateText:
        """The wording for ``language`` (``"zh-cn"`` matches ``"zh"``), else the first one."""
        lang = (language or "").lower()
        for code, text in self.texts:
            if lang == code or lang.startswith(code + "-"):
                return text
        return self.texts[0][1]

    def render(self, problem: dict[str, Any]) -> list[dict[str, str]]:
        """Chat messages for ``problem``.

        Args:
            problem: a problem row with ``prompt`` (or ``problem``/``question``) and optional
                ``domain`` and ``language``.

        Returns:
            ``[{"role": ..., "content": ...}, ...]`` ending with the user turn. For a raw
            template, a single user message holding the whole prompt.
        """
        text = self.text_for(problem.get("language"))
        user = text.user.format(prompt=_prompt_of(problem))
        if text.math_suffix and str(problem.get("domain") or "").lower() == "math":
            user = f"{user}\n{text.math_suffix}"
        messages = [{"role": "system", "content": text.system}] if text.system else []
        for shot_user, shot_assistant in text.few_shot:
            messages += [{"role": "user", "content": shot_user},
                         {"role": "assistant", "content": shot_assistant}]
        return messages + [{"role": "user", "content": user}]

    def render_text(self, problem: dict[str, Any], tokenizer: Any = None) -> str:
        """The prompt as one string.

        Args:
            problem: as for ``render``.
            tokenizer: optional Hugging Face tokenizer; chat templates are then rendered with
                its chat template and a generation prompt.

        Returns:
            The raw prompt (raw templates), the tokenizer-rendered conversation, or the
            messages' contents separated by blank lines.
        """
        messages = self.render(problem)
        if self.raw:
            return messages[-1]["content"]
        if tokenizer is not None:
            return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        return "\n\n".join(m["content"] for m in messages)

    def to_request(self, problem: dict[str, Any], request_id: str | None = None) -> Request:
        """A backend request for ``problem``, carrying its gold columns as metadata.

        Args:
            problem: a problem row; ``problem_id`` names the request unless ``request_id`` does.
            request_id: explicit request id.
        """
        rid = request_id if request_id is not None else problem.get("problem_id")
        if rid is None:
            raise ValueError("to_request: the problem has no 'problem_id'; pass request_id=")
        meta = {k: problem[k] for k in _GOLD_KEYS if problem.get(k) is not None}
        meta["prompt"] = _prompt_of(problem)
        if self.raw:
            return Request(id=str(rid), prompt=self.render_text(problem), metadata=meta)
        return Request(id=str(rid), messages=self.render(problem), metadata=meta)


def _prompt_of(problem: dict[str, Any]) -> str:
    for key in _PROMPT_KEYS:
        if problem.get(key) is not None:
            return str(problem[key])
    raise ValueError(f"problem has none of the prompt columns {_PROMPT_KEYS}: keys {sorted(problem)}")


# R1 paper, Table 1 (verbatim; "prompt" is replaced by the question during training).
R1_ZERO_TEXT = (
    "A conversation between User and Assistant. The user asks a question, and the Assistant "
    "solves it. The assistant first thinks about the reasoning process in the mind and then "
    "provides the user with the answer. The reasoning process and answer are enclosed within "
    "<think> </think> and <answer> </answer> tags, respectively, i.e., <think> reasoning "
    "process here </think> <answer> answer here </answer>. User: {prompt}. Assistant:"
)

# R1 §2.3.1: cold-start data from few-shot prompting with long CoT examples, asking for
# detailed answers with reflection and verification, in the readable output format
# |special_token|<reasoning_process>|special_token|<summary>.
_SYSTEM_EN = (
    "You are a careful problem solver. Before answering, think through the problem in detail: "
    "explore an approach, reflect on each step, and verify the result, checking it a second way "
    "when you can. Write your reply in exactly this format:\n"
    "|special_token|<your detailed reasoning>|special_token|<a concise, readable summary in "
    "markdown that ends with the final answer>\n"
    "Think and answer in English only."
)
_SHOTS_EN = (
    (
        "What is the sum of the interior angles of a hexagon?",
        "|special_token|A hexagon has 6 sides. From one vertex I can draw diagonals to the 3 "
        "non-adjacent vertices, which cuts the hexagon into 4 triangles. Each triangle has angles "
        "summing to 180 degrees, so the total is 4 x 180 = 720 degrees.\n\n"
        "Wait, let me verify this with the general formula. An n-gon splits into n - 2 triangles, "
        "so its angles sum to (n - 2) x 180. For n = 6 that is 4 x 180 = 720. Same result.\n\n"
        "Let me also sanity-check the formula on shapes I know: a square (n = 4) gives 360 and a "
        "triangle (n = 3) gives 180, both correct. So the answer is 720 degrees."
        "|special_token|**Summary**\n\n"
        "- Split the hexagon into 4 triangles from one vertex.\n"
        "- Each triangle contributes 180°, and the formula (n - 2) x 180 agrees.\n\n"
        "The sum of the interior angles is $\\boxed{720^\\circ}$.",
    ),
    (
        "Pencils cost 3 for $1. How much do 12 pencils cost?",
        "|special_token|Pencils come in groups of 3 for $1. Let me compute 12 x 3 = 36, so "
        "$36?\n\nHmm, wait. That is backwards: multiplying by 3 would mean each pencil costs $3. "
        "Let me redo it. The number of groups of 3 in 12 pencils is 12 / 3 = 4, and each group "
        "costs $1, so 12 pencils cost 4 x $1 = $4.\n\n"
        "Let me verify another way: one pencil costs $1/3, and 12 x 1/3 = 4. Both methods give $4."
        "|special_token|**Summary**\n\n"
        "- 12 pencils make 12 / 3 = 4 groups of three.\n"
        "- Each group costs $1 (checked via the unit price $1/3).\n\n"
        "12 pencils cost $\\boxed{4}$ dollars.",
    ),
)
_SYSTEM_ZH = (
    "你是一位细心的解题者。回答之前，请详细地思考问题：探索解题思路，反思每一步，并验证结果，"
    "尽可能用另一种方法再检查一遍。请严格按照以下格式回答：\n"
    "|special_token|<详细的推理过程>|special_token|<用 markdown 写成的简洁、易读的总结，以最终答案结尾>\n"
    "请只用中文思考和回答。"
)
_SHOTS_ZH = (
    (
        "六边形的内角和是多少？",
        "|special_token|六边形有 6 条边。从一个顶点出发，可以向 3 个不相邻的顶点画对角线，"
        "把六边形分成 4 个三角形。每个三角形的内角和是 180 度，所以总和是 4 × 180 = 720 度。\n\n"
        "等等，让我用通用公式验证一下。n 边形可以分成 n - 2 个三角形，所以内角和是 (n - 2) × 180。"
        "当 n = 6 时，结果是 4 × 180 = 720，与上面一致。\n\n"
        "再用熟悉的图形检查这个公式：正方形（n = 4）得到 360，三角形（n = 3）得到 180，都是正确的。"
        "所以答案是 720 度。"
        "|special_token|**总结**\n\n"
        "- 从一个顶点把六边形分成 4 个三角形。\n"
        "- 每个三角形贡献 180°，公式 (n - 2) × 180 也给出相同结果。\n\n"
        "六边形的内角和是 $\\boxed{720^\\circ}$。",
    ),
    (
        "铅笔 3 支 1 元。12 支铅笔多少钱？",
        "|special_token|铅笔每 3 支 1 元。我先算 12 × 3 = 36，所以是 36 元？\n\n"
        "嗯，等等，这样算反了：乘以 3 意味着每支铅笔 3 元。让我重新算。12 支铅笔里有 12 ÷ 3 = 4 组，"
        "每组 1 元，所以 12 支铅笔是 4 × 1 = 4 元。\n\n"
        "换一种方法验证：每支铅笔 1/3 元，12 × 1/3 = 4。两种方法都得到 4 元。"
        "|special_token|**总结**\n\n"
        "- 12 支铅笔可以分成 12 ÷ 3 = 4 组。\n"
        "- 每组 1 元（用单价 1/3 元验证过）。\n\n"
        "12 支铅笔一共 $\\boxed{4}$ 元。",
    ),
)
COLD_START_EN = TemplateText(
    system=_SYSTEM_EN, math_suffix="Put your final answer within \\boxed{}.", few_shot=_SHOTS_EN
)
COLD_START_ZH = TemplateText(
    system=_SYSTEM_ZH, math_suffix="请把最终答案写在 \\boxed{} 中。", few_shot=_SHOTS_ZH
)


R1_ZERO = PromptTemplate(
    name="r1_zero",
    version="1.0.0",
    description="DeepSeek-R1-Zero training template (R1 paper, Table 1), a raw completion prompt.",
    texts=(("en", TemplateText(user=R1_ZERO_TEXT)),),
    raw=True,
)

CHAT = PromptTemplate(
    name="chat",
    version="1.0.0",
    description="Plain chat: the problem as the user turn; math gets R1's boxed-answer guidance.",
    texts=(
        ("en", TemplateText(math_suffix="Please reason step by step, and put your final answer within \\boxed{}.")),
        ("zh", TemplateText(math_suffix="请逐步推理，并把最终答案写在 \\boxed{} 中。")),
    ),
)

COLD_START_FEW_SHOT = PromptTemplate(
    name="cold_start_few_shot",
    version="1.0.0",
    description="Few-shot long-CoT prompting for cold-start data (R1 §2.3.1), readable format.",
    texts=(("en", COLD_START_EN), ("zh", COLD_START_ZH)),
)

# The R1-Zero text as one chat user turn: what GRPO on the `r1-zero` snapshot trains on (TRL renders
# conversational prompts with the model's chat template), so evaluating an R1-Zero checkpoint
# with it scores the prompt the policy was trained on.
R1_ZERO_CHAT = PromptTemplate(
    name="r1_zero_chat",
    version="1.0.0",
    description="The R1-Zero template as a chat user turn (the form GRPO on the r1-zero snapshot sees).",
    texts=(("en", TemplateText(user=R1_ZERO_TEXT)),),
)

# Few-shot long-CoT prompting (R1 §2.3.1) at the scale of `factory recipe`: a model trained from
# scratch on arithmetic reads digits, not English essays, so the examples are worked sums with a
# verification step, in the readable format.
COLD_START_FEW_SHOT_TINY = PromptTemplate(
    name="cold_start_few_shot_tiny",
    version="1.0.0",
    description="Few-shot long-CoT prompting with two worked sums (check step) in R1's readable format.",
    texts=(("en", TemplateText(
        system="Think step by step and check the result. Answer as |special_token|reasoning|special_token|summary.",
        few_shot=(
            ("Compute $13 + 7$.",
             "|special_token|3+7=10,10+0=10,10+10=20,check 20-7=13|special_token|**Answer** $\\boxed{20}$"),
            ("What is the value of $45 - 18$?",
             "|special_token|5-8=-3,40-10=30,30-3=27,check 27+18=45|special_token|**Answer** $\\boxed{27}$"),
        ))),),
)

_REGISTRY = MappingProxyType({t.name: t for t in (R1_ZERO, CHAT, COLD_START_FEW_SHOT, R1_ZERO_CHAT,
                                                      COLD_START_FEW_SHOT_TINY)})


def list_templates() -> list[str]:
    """Names of the registered templates."""
    return sorted(_REGISTRY)


def get_template(name: str) -> PromptTemplate:
    """Look a template up by ``name`` or ``name@version``.

    Args:
        name: e.g. ``"r1_zero"`` or ``"r1_zero@1.0.0"``; a version must match the current one.

    Returns:
        The template.

    >>> get_template("r1_zero").ref
    'r1_zero@1.0.0'
    """
    return lookup(_REGISTRY, name, "prompt template")

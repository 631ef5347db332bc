"""Phrase pools of the scripted teacher, built once at import so a trace is a few joins.

Step sentences combine a head, a tail and a detail (8 of each per language and domain);
they are numbered and pre-joined into blocks of three steps ahead of time. Pool sizes are
powers of two so a few hash bits pick an entry without modulo bias.
"""

from __future__ import annotations

from types import MappingProxyType

BLOCKS = 4  # a trace has 3 or 4 blocks: 9 or 12 numbered steps
BLOCK_CHOICES = 64
STEPS_PER_BLOCK = 3

_EN = {
    "open": (
        "Okay, let me work through this problem carefully.",
        "Alright, I need to figure this out step by step.",
        "Let me start by understanding what is being asked.",
        "Okay, so I have to solve this. Let me think.",
        "First, let me restate the problem in my own words.",
        "Let me think about how to approach this.",
        "Hmm, this looks manageable if I go slowly.",
        "Let me break the problem into smaller pieces.",
    ),
    "math_head": (
        "I rewrite the given relation so that",
        "I collect the known quantities so that",
        "I simplify each side of the expression so that",
        "I isolate the unknown so that",
        "I check the constraints in the statement so that",
        "I substitute the given values so that",
        "I factor the expression where possible so that",
        "I write down the key equation so that",
    ),
    "math_tail": (
        "all like terms sit on one side.",
        "nothing from the statement is lost.",
        "the arithmetic stays easy to follow.",
        "the remaining computation is a single step.",
        "I can compare the two sides directly.",
        "every term has the same denominator.",
        "the structure of the problem becomes clear.",
        "I can reuse this result later.",
    ),
    "code_head": (
        "I read the input format carefully so that",
        "I think about the edge cases so that",
        "I choose a data structure so that",
        "I trace a small example by hand so that",
        "I estimate the time complexity so that",
        "I split the task into helper functions so that",
        "I consider the largest possible input so that",
        "I decide how to print the output so that",
    ),
    "code_tail": (
        "the program never reads past the input.",
        "empty and single-element cases are handled.",
        "each lookup takes constant time.",
        "the loop bounds are correct.",
        "the solution runs well within the limits.",
        "every function does one thing.",
        "integer overflow is not a concern in Python.",
        "the format matches the expected output exactly.",
    ),
    "math_detail": (
        "Nothing here depends on a guess; each line follows from the one before.",
        "Keeping track of every sign helps me avoid a silly slip.",
        "If I made an error here, it would show up as a contradiction later.",
        "This matches the kind of reasoning the statement seems to intend.",
        "Writing it out explicitly makes the next move obvious.",
        "I note the intermediate value so I can come back to it.",
        "The numbers are small, so I can also check them mentally.",
        "This is the standard move for a problem of this shape.",
    ),
    "code_detail": (
        "A wrong assumption here would only show up on hidden tests, so I am careful.",
        "Reading everything at once with sys.stdin is faster than many input() calls.",
        "I keep the logic simple so that it is easy to verify by hand.",
        "Off-by-one mistakes are the most common bug here, so I check the bounds twice.",
        "The constraints decide whether a quadratic approach is acceptable.",
        "I write the helper first and then the main loop that uses it.",
        "Printing with a single join avoids slow repeated output calls.",
        "This keeps memory use linear in the size of the input.",
    ),
    "reflect": (
        "Wait, let me check the calculation again.",
        "Hmm, let me verify this again.",
        "Wait, did I make a mistake in the previous step? Let me re-read it.",
        "Hold on, let me double-check that sign.",
        "Wait, let me reconsider whether that step is valid.",
        "Hmm, that seems too easy. Let me look at it once more.",
        "Let me pause and make sure I have not misread the question.",
        "Wait, let me recount to be safe.",
    ),
    "result": "So the result is {a}.",
    "verify": (
        "Let me verify: using {a} in the original statement, both sides agree.",
        "Checking again with {a}: every condition of the problem holds.",
        "Substituting {a} back into the problem, everything is consistent.",
        "I re-derived the value another way and still get {a}.",
    ),
    "code_verify": (
        "Let me run through the sample by hand: the program prints the expected output.",
        "Checking the edge case with the smallest input: the answer is still right.",
        "Tracing the loop once more, every index stays in range.",
        "I re-read the statement: the output format matches.",
    ),
    "summary_head": (
        "**Summary**",
        "**Solution outline**",
        "**Answer**",
        "**Key steps**",
    ),
    "summary_items": (
        "- Restated the problem and identified the unknown.\n- Simplified step by step and checked each step.",
        "- Wrote down the governing relation.\n- Solved it and verified the result by substitution.",
        "- Broke the task into small steps.\n- Double-checked the computation before answering.",
        "- Collected the given facts.\n- Derived the result and confirmed it a second way.",
    ),
    "final": "Therefore, the final answer is $\\boxed{{{a}}}$.",
    "code_final": "Here is the complete program:",
    "general_final": "Here is my response to the request: {p}",
    "intro": "The problem asks: {p}",
    "task": "This is a {t} problem.",
    "loop": "Wait, let me re-examine the previous step once more, to be completely sure.",
    "filler": "I keep every intermediate quantity written down so that nothing is lost along the way.",
    "cot_code": (
        "```python\nx = 3 * 4 + 5\nprint(x)\n```",
        "```python\nfor i in range(3):\n    print(i)\n```",
        "```python\ndef f(n):\n    return n * (n + 1) // 2\n```",
        "```python\nvalues = [1, 2, 3]\nprint(sum(values))\n```",
    ),
}

_ZH = {
    "open": (
        "好的，让我仔细地解决这个问题。",
        "好，我需要一步一步地把它想清楚。",
        "首先，让我弄明白题目在问什么。",
        "嗯，我得解这道题，让我想一想。",
        "首先，我用自己的话把题目重述一遍。",
        "让我想想应该怎样入手。",
        "嗯，只要慢慢来，这道题并不难。",
        "让我把问题拆成几个小部分。",
    ),
    "math_head": (
        "我把已知关系式改写一下，",
        "我把已知量整理出来，",
        "我分别化简等式两边，",
        "我把未知数单独移到一边，",
        "我检查题目中的约束条件，",
        "我代入给定的数值，",
        "我尽量对式子进行因式分解，",
        "我写出关键的方程，",
    ),
    "math_tail": (
        "这样同类项都在同一边。",
        "这样题目中的信息不会遗漏。",
        "这样计算过程更清楚。",
        "这样剩下的计算只需要一步。",
        "这样可以直接比较两边。",
        "这样所有项的分母都相同。",
        "这样问题的结构就清楚了。",
        "这样后面可以再用到这个结果。",
    ),
    "code_head": (
        "我仔细阅读输入格式，",
        "我考虑各种边界情况，",
        "我选择合适的数据结构，",
        "我手动模拟一个小例子，",
        "我估计一下时间复杂度，",
        "我把任务拆成几个辅助函数，",
        "我考虑最大的输入规模，",
        "我确定输出的格式，",
    ),
    "code_tail": (
        "这样程序不会越界读取。",
        "这样空输入和单个元素的情况都能处理。",
        "这样每次查找都是常数时间。",
        "这样循环的边界是正确的。",
        "这样程序能在时限内运行。",
        "这样每个函数只做一件事。",
        "在 Python 中不用担心整数溢出。",
        "这样输出格式和要求完全一致。",
    ),
    "math_detail": (
        "这里没有任何猜测，每一步都由上一步推出。",
        "注意每一个符号，可以避免粗心的错误。",
        "如果这里出错，后面一定会出现矛盾。",
        "这和题目想要的推理方式是一致的。",
        "把它明确写出来，下一步就很清楚了。",
        "我记下这个中间结果，后面还会用到。",
        "这些数都不大，我也可以心算检查。",
        "这是处理这类问题的标准做法。",
    ),
    "code_detail": (
        "这里的错误假设只会在隐藏测试中暴露，所以要小心。",
        "一次性读取全部输入比多次调用输入函数更快。",
        "我让逻辑保持简单，方便手动验证。",
        "差一错误是这里最常见的问题，所以我把边界检查两遍。",
        "数据范围决定了平方复杂度是否可以接受。",
        "我先写辅助函数，再写调用它的主循环。",
        "用一次拼接输出，避免多次缓慢的输出调用。",
        "这样内存使用与输入规模成线性关系。",
    ),
    "reflect": (
        "等等，让我再检查一下计算。",
        "嗯，让我再验证一遍。",
        "等等，上一步是不是算错了？让我重新看一下。",
        "等一下，让我再确认一下符号。",
        "等等，让我想想这一步是否成立。",
        "嗯，这看起来太简单了，让我再看一遍。",
        "让我停下来确认没有看错题目。",
        "等等，为了保险起见，让我重新数一遍。",
    ),
    "result": "所以结果是 {a}。",
    "verify": (
        "验证一下：把 {a} 代入原题，两边相等。",
        "再用 {a} 检查一遍：题目的所有条件都满足。",
        "把 {a} 代回题目中，一切都是一致的。",
        "我用另一种方法重新推导，仍然得到 {a}。",
    ),
    "code_verify": (
        "让我手动运行一下样例：程序输出了正确的结果。",
        "检查最小输入的边界情况：答案仍然正确。",
        "再跟踪一遍循环，每个下标都在范围内。",
        "我重新读了题目：输出格式是一致的。",
    ),
    "summary_head": (
        "**总结**",
        "**解题思路**",
        "**答案**",
        "**关键步骤**",
    ),
    "summary_items": (
        "- 重述题目并找出未知量。\n- 逐步化简并检查每一步。",
        "- 写出关键的关系式。\n- 求解并通过代入验证结果。",
        "- 把问题拆成几个小步骤。\n- 在回答之前再次检查计算。",
        "- 整理已知条件。\n- 推导出结果并用另一种方法确认。",
    ),
    "final": "因此，最终答案是 $\\boxed{{{a}}}$。",
    "code_final": "完整的程序如下：",
    "general_final": "以下是我对这个请求的回答：{p}",
    "intro": "题目是：{p}",
    "task": "这是一道{t}题。",
    "loop": "等等，让我再把上一步检查一遍，确保完全正确。",
    "filler": "我把每一个中间结果都写下来，这样就不会遗漏任何信息。",
    "cot_code": _EN["cot_code"],  # code is language-neutral
}


def _blocks(pool: dict, kind: str, zh: bool) -> tuple[tuple[str, ...], ...]:
    """``BLOCKS`` groups of ``BLOCK_CHOICES`` pre-joined paragraphs of ``STEPS_PER_BLOCK``
    numbered steps each (block b holds steps 3b+1..3b+3), so a trace needs a handful of joins."""
    sep, label = ("", "第{k}步：") if zh else (" ", "Step {k}: ")
    heads, tails, details = pool[f"{kind}_head"], pool[f"{kind}_tail"], pool[f"{kind}_detail"]
    blocks = []
    for b in range(BLOCKS):
        choices = []
        for i in range(BLOCK_CHOICES):  # (i + b, i // 8 + 2b) differs for every i: 64 distinct
            steps = [
                label.format(k=STEPS_PER_BLOCK * b + s + 1) + heads[(i + b + 3 * s) % 8] + sep
                + tails[(i // 8 + 2 * b + 5 * s) % 8] + sep + details[(3 * i + b + s) % 8]
                for s in range(STEPS_PER_BLOCK)
            ]
            choices.append("\n\n".join(steps))
        blocks.append(tuple(choices))
    return tuple(blocks)


def _build(pool: dict, zh: bool) -> MappingProxyType:
    built = dict(pool)
    built["math_blocks"] = _blocks(pool, "math", zh)
    built["code_blocks"] = _blocks(pool, "code", zh)
    return MappingProxyType(built)


POOLS = MappingProxyType({"en": _build(_EN, False), "zh": _build(_ZH, True)})

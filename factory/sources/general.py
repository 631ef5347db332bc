"""Built-in non-reasoning prompts (R1 §2.3.3): writing, factual QA, translation, simple queries, self-cognition.

Each row carries a reference response in ``metadata`` so an offline teacher can answer it
and tests can check answers. Deterministic by (seed, index), like the procedural source.
Real runs replace this with existing SFT data through the files/HF sources.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Iterator

import pyarrow as pa
import xxhash

from factory.sources.base import Source

GENERAL_VERSION = "1.0.0"
CATEGORIES = ("writing", "factual_qa", "translation", "simple", "self_cognition")

_TOPICS = [("the sea", "大海"), ("autumn leaves", "秋天的落叶"), ("a quiet library", "安静的图书馆"),
           ("city rain", "城市的雨"), ("an old bicycle", "一辆旧自行车"), ("morning coffee", "早晨的咖啡"),
           ("mountain trails", "山间小路"), ("a lost letter", "一封遗失的信")]
_FORMS = [("short poem", "短诗"), ("two-sentence story", "两句话的故事"), ("friendly email", "友好的邮件"),
          ("product description", "产品介绍")]
_FACTS = [("What is the capital of France?", "法国的首都是哪里？", "The capital of France is Paris.", "法国的首都是巴黎。"),
          ("What is the chemical symbol for gold?", "金的化学符号是什么？", "The chemical symbol for gold is Au.", "金的化学符号是 Au。"),
          ("Which planet is known as the Red Planet?", "哪颗行星被称为红色星球？", "Mars is known as the Red Planet.", "火星被称为红色星球。"),
          ("Who wrote 'Pride and Prejudice'?", "《傲慢与偏见》的作者是谁？", "Jane Austen wrote 'Pride and Prejudice'.", "《傲慢与偏见》的作者是简·奥斯汀。"),
          ("How many continents are there?", "世界上有几个大洲？", "There are seven continents.", "世界上有七个大洲。"),
          ("What is the boiling point of water at sea level in Celsius?", "海平面上水的沸点是多少摄氏度？",
           "Water boils at 100 degrees Celsius at sea level.", "在海平面上，水的沸点是 100 摄氏度。")]
_PAIRS = [("The weather is nice today.", "今天天气很好。"), ("I like reading books in the evening.", "我喜欢在晚上读书。"),
          ("Where is the train station?", "火车站在哪里？"), ("Thank you for your help.", "谢谢你的帮助。"),
          ("We will meet at noon tomorrow.", "我们明天中午见面。")]
_SIMPLE = [("hello", "你好", "Hello! How can I help you today?", "你好！今天有什么可以帮你的吗？"),
           ("hi there", "嗨", "Hi! What can I do for you?", "嗨！有什么可以帮你的？"),
           ("thanks!", "谢谢！", "You're welcome!", "不客气！")]
_SELF = [("Who are you?", "你是谁？"), ("What is your name?", "你叫什么名字？"), ("Who developed you?", "谁开发了你？")]


def self_cognition_answer(language: str, model_name: str, developer: str) -> str:
    """The self-cognition template (R1 §2.3.3 lists self-cognition among non-reasoning data)."""
    if language == "zh":
        return f"我是 {model_name}，由 {developer} 开发的人工智能助手。我可以回答问题、写作和推理。"
    return f"I am {model_name}, an AI assistant developed by {developer}. I can answer questions, write and reason."


@dataclass(frozen=True)
class GeneralConfig:
    n: int = 1000
    seed: int = 0
    mix: dict[str, float] = field(default_factory=lambda: {"writing": 0.35, "factual_qa": 0.25, "translation": 0.2,
                                                            "simple": 0.1, "self_cognition": 0.1})
    zh_share: float = 0.3
    cot_share: float = 0.5  # share of writing/QA/translation prompts that get a teacher-written CoT
    model_name: str = "R1-Factory"
    developer: str = "the r1-factory team"

    def __post_init__(self) -> None:
        unknown = set(self.mix) - set(CATEGORIES)
        if unknown:
            raise ValueError(f"unknown non-reasoning categories {sorted(unknown)}; use {CATEGORIES}")
        if abs(sum(self.mix.values()) - 1.0) > 1e-6:
            raise ValueError(f"mix weights sum to {sum(self.mix.values())}, expected 1.0")


def _u(seed: int, i: int, salt: str) -> float:
    return xxhash.xxh64_intdigest(f"{salt}:{i}".encode(), seed) / 2**64


def general_row(cfg: GeneralConfig, i: int) -> dict:
    """Row ``i`` of the general source (pure function of config and index)."""
    r, acc, cat = _u(cfg.seed, i, "cat"), 0.0, CATEGORIES[-1]
    for c in CATEGORIES:
        acc += cfg.mix.get(c, 0.0)
        if r < acc:
            cat = c
            break
    zh = _u(cfg.seed, i, "lang") < cfg.zh_share
    pick = int(_u(cfg.seed, i, "pick") * 1_000_003)
    lang = "zh" if zh else "en"
    if cat == "writing":
        (t_en, t_zh), (f_en, f_zh) = _TOPICS[pick % len(_TOPICS)], _FORMS[(pick // 7) % len(_FORMS)]
        prompt = f"请写一篇关于{t_zh}的{f_zh}。" if zh else f"Write a {f_en} about {t_en}."
        ref = (f"关于{t_zh}：它安静而明亮，让人想起生活中细小的美好。" if zh
               else f"On {t_en}: it is quiet and bright, a reminder of the small good things in life.")
    elif cat == "factual_qa":
        q_en, q_zh, a_en, a_zh = _FACTS[pick % len(_FACTS)]
        prompt, ref = (q_zh, a_zh) if zh else (q_en, a_en)
    elif cat == "translation":
        en, zhs = _PAIRS[pick % len(_PAIRS)]
        prompt, ref = ((f"把下面的句子翻译成英文：{zhs}", en) if zh else (f"Translate into Chinese: {en}", zhs))
    elif cat == "simple":
        q_en, q_zh, a_en, a_zh = _SIMPLE[pick % len(_SIMPLE)]
        prompt, ref = (q_zh, a_zh) if zh else (q_en, a_en)
    else:
        q_en, q_zh = _SELF[pick % len(_SELF)]
        prompt, ref = (q_zh if zh else q_en), self_cognition_answer(lang, cfg.model_name, cfg.developer)
    needs_cot = cat in ("writing", "factual_qa", "translation") and _u(cfg.seed, i, "cot") < cfg.cot_share
    meta = {"task": cat, "reference": ref, "needs_cot": needs_cot}
    return {"problem_id": f"gen-{cfg.seed}-{i}", "prompt": prompt, "domain": cat, "language": lang,
            "source": "general", "metadata": json.dumps(meta, ensure_ascii=False)}


class GeneralSource(Source):
    """Non-reasoning prompts with reference answers, for offline demos and tests."""

    kind = "general"

    def __init__(self, config: GeneralConfig | None = None, **kw):
        self.config = config or GeneralConfig(**kw)

    def fingerprint(self) -> str:
        return xxhash.xxh64_hexdigest(json.dumps({"v": GENERAL_VERSION, **self.config.__dict__}, sort_keys=True).encode())

    def describe(self) -> dict:
        return {"kind": self.kind, "version": GENERAL_VERSION, **self.config.__dict__}

    def batches(self, batch_size: int = 65_536) -> Iterator[pa.RecordBatch]:
        for start in range(0, self.config.n, batch_size):
            rows = [general_row(self.config, i) for i in range(start, min(start + batch_size, self.config.n))]
            yield pa.RecordBatch.from_pylist(rows)

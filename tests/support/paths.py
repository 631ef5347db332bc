"""Paths every test may need: the repository root and the shared fixture folder."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"

# The benchmark fixtures in their publishers' layouts (made by fixtures/evalsets/make_fixtures.py).
EVALSETS = FIXTURES / "evalsets"
EVALSET_PATHS = {
    "aime_2024": EVALSETS / "aime_2024",
    "aime_2025": EVALSETS / "aime_2025",
    "math_500": EVALSETS / "math_500" / "test.jsonl",
    "gpqa_diamond": EVALSETS / "gpqa_diamond" / "gpqa_diamond.csv",
    "livecodebench": EVALSETS / "livecodebench",
}

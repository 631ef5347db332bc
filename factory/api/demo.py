"""`factory demo`: the whole R1 data recipe at mini scale, offline (procedural problems + scripted teachers).

Every dataset of the recipe is built as a snapshot; a second run is all cache hits. The
teacher is told to make realistic mistakes (wrong answers, mixed language, over-long and
broken outputs) so every filter has something to catch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from factory.api.build import BuildOptions, BuildResult, run_build
from factory.store.store import Store

TEACHER_FLAWS = {"wrong_rate": 0.25, "mixed_language_rate": 0.06, "overlong_rate": 0.03, "broken_tags_rate": 0.03,
                 "code_in_cot_rate": 0.03, "long_paragraph_rate": 0.03}
HELDOUT = {"heldout_n": 100, "heldout_seed": 12345}

# (builder, config overrides): the recipe in dependency order, at mini scale.
STEPS: list[tuple[str, dict[str, Any]]] = [
    ("problems", {"n": 3000, "seed": 0}),
    ("curated", {"decontaminate_against": ["procedural-heldout"], **HELDOUT}),
    ("cold-start", {"n_prompts": 200, "target": 120, "generate": {"backend_options": {"style": "readable", **TEACHER_FLAWS}}}),
    # Pass-rate curation (Skywork-OR1 / DAPO): k samples per prompt under the policy, keep 0 < n_correct < k.
    ("r1-zero", {"difficulty": {"enabled": True, "measure": {"generate": {
        "samples_per_prompt": 4, "max_tokens": 2048, "backend_options": {"wrong_rate": 0.3}}}}}),
    ("reasoning", {"target": 2500, "max_per_problem": 2,
                   "generate": {"samples_per_prompt": 4, "max_tokens": 2048, "backend_options": TEACHER_FLAWS}}),
    ("non-reasoning", {"target": 800}),
    ("sft-mix", {}),
    ("rl-mix", {}),
    ("distill", {}),
    ("eval", {"benchmarks": ["procedural-heldout"], "k": 4, **HELDOUT,
              "generate": {"max_tokens": 2048, "backend_options": {"wrong_rate": 0.3}}}),
]


@dataclass
class DemoStep:
    builder: str
    result: BuildResult

    @property
    def rows_in(self) -> int:
        stats = self.result.snapshot.manifest.get("stats", {})
        for key in ("scored_rollouts", "problems", "prompts", "rows_in"):
            if key in stats:
                return int(stats[key])
        return sum(self.result.snapshot.manifest.get("parent_rows", {}).values()) or sum(
            s.snapshot.num_rows for s in self.result.stages)


def demo(store: Store, *, quiet: bool = True, log: Callable[[str], None] = lambda m: None) -> list[DemoStep]:
    """Build every snapshot of the mini recipe; returns one step per builder, in order."""
    steps = []
    for builder, config in STEPS:
        res = run_build(store, builder, config, options=BuildOptions(quiet=quiet, log=log))
        steps.append(DemoStep(builder, res))
    return steps


EXAMPLE_SQL = """
select s.domain, count(*) as rollouts, round(avg(s.correct::int), 3) as accuracy,
       round(avg(s.completion_tokens), 0) as mean_tokens,
       count(*) filter (where r.reason = 'mixed_language') as mixed_language
from reasoning_scored s left join reasoning__rejects r using (problem_id, sample_idx)
group by s.domain order by s.domain
""".strip()

# "How many prompts does each model solve 0/k, 1..k-1 and k/k, per domain and difficulty?"
DIFFICULTY_SQL = """
select policy_model as policy, domain, difficulty, count_if(n_correct = 0) as "0/k",
       count_if(n_correct > 0 and n_correct < k) as "1..k-1", count_if(n_correct = k) as "k/k"
from difficulty group by all order by all
""".strip()

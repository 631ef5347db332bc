"""The pass-rate filter that ``r1-zero`` and ``rl-mix`` share: a SQL predicate over a difficulty table.

The predicate is checked before anything is generated (DuckDB binds it against an empty table of
the difficulty schema), so a typo costs nothing. The table is either measured here (the
``difficulty`` builder as a stage, with the RL stage's own template) or pinned (``table=NAME@ID``:
a stage-2 table made from training rollouts). Dropped prompts are rejects ``too_easy`` (pass
rate >= 0.5) or ``too_hard``, with their pass rate; prompts the table does not cover are kept
unless ``keep_unmeasured=false`` (a stage-2 table covers only the prompts the run saw).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

import schemas
from pipelines import difficulty as difficulty_builder

BINS = ((0.0, 0.0, "0"), (0.0, 0.25, "(0, .25]"), (0.25, 0.5, "(.25, .5]"), (0.5, 0.75, "(.5, .75]"),
        (0.75, 1.0, "(.75, 1)"), (1.0, 1.0, "1"))


def check_predicate(predicate: str) -> None:
    """Refuse a predicate that is not a boolean SQL expression over the difficulty table's columns.

    >>> check_predicate("0 < n_correct and n_correct < k")
    >>> check_predicate("pass_rate < 0.9 and domain = 'math'")
    >>> check_predicate("n_corect > 0")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: difficulty predicate 'n_corect > 0' is not valid SQL over the difficulty table (columns: ...): Referenced column "n_corect" not found...
    """
    spec = schemas.get("difficulty")
    con = duckdb.connect()
    try:
        con.register("difficulty", spec.schema.empty_table())
        if ";" in predicate:
            raise duckdb.Error("one expression, no ';'")
        rel = con.sql(f"explain select ({predicate}) as keep from difficulty") and con.sql(f"select ({predicate}) as keep from difficulty")
        if str(rel.types[0]) != "BOOLEAN":
            raise duckdb.Error(f"it is {rel.types[0]}, not a boolean")
    except duckdb.Error as e:
        first = str(e).strip().splitlines()[0].split(": ", 1)[-1]
        raise ValueError(f"difficulty predicate {predicate!r} is not valid SQL over the difficulty table "
                         f"(columns: {', '.join(spec.schema.names)}): {first}") from None
    finally:
        con.close()


@dataclass(frozen=True)
class DifficultyFilter:
    """Curation by pass rate under the policy (Skywork-OR1: 1–15 of 16; DAPO: no all-0/all-1 groups)."""

    enabled: bool = field(default=False, metadata={"help": "filter by pass rate (needs a policy to sample from)"})
    predicate: str = field(default="0 < n_correct and n_correct < k", metadata={"help": "SQL over the difficulty table: rows to keep"})
    table: str = field(default="", metadata={"help": "pinned NAME@ID of a difficulty table; empty: measure it here"})
    keep_unmeasured: bool = field(default=True, metadata={"help": "keep prompts the table has no row for"})
    pseudo_labels: bool = field(default=False, metadata={
        "help": "give math prompts without gold the table's majority answer (answer_source=majority@k)"})
    min_agreement: float = field(default=0.5, metadata={"help": "pseudo-label only when this share of samples agree"})
    measure: difficulty_builder.Config = field(default_factory=difficulty_builder.Config,
                                               metadata={"help": "the difficulty stage (policy, k, sampling)"})

    def __post_init__(self) -> None:
        check_predicate(self.predicate)
        if self.pseudo_labels and not self.enabled:
            raise ValueError("difficulty.pseudo_labels=true needs difficulty.enabled=true (the votes come from its table)")
        if not 0.0 < self.min_agreement <= 1.0:
            raise ValueError(f"difficulty.min_agreement={self.min_agreement}: a share in (0, 1]")
        if self.table and "@" not in self.table:
            raise ValueError(f"difficulty.table={self.table!r}: pin it as NAME@ID so the snapshot id follows it")


def difficulty_table(ctx, cfg: DifficultyFilter, problems, template: str):
    """The difficulty snapshot to filter by (recorded as a parent), or None when the filter is off."""
    if not cfg.enabled:
        return None
    if cfg.table:
        snap = ctx.store.get(cfg.table)
        ctx.parents["difficulty"] = snap
        return snap
    measure = dataclasses.replace(cfg.measure, generate=dataclasses.replace(cfg.measure.generate, template=template))
    return ctx.stage("difficulty", measure, parents={"curated": problems.ref})


@dataclass
class Decisions:
    """Which measured prompts the predicate keeps, and each one's pass rate."""

    keep: dict[str, bool]
    pass_rate: dict[str, float | None]
    keep_unmeasured: bool
    labels: dict[str, tuple[str, str]] = field(default_factory=dict)  # no-gold problem_id -> (answer, source)

    @classmethod
    def of(cls, snap, cfg: DifficultyFilter) -> "Decisions":
        con = duckdb.connect()
        try:
            con.register("difficulty", snap.to_arrow())
            rows = con.execute(f"select problem_id, coalesce(({cfg.predicate}), false), pass_rate from difficulty").fetchall()
            labels = con.execute("select problem_id, majority_answer, answer_source from difficulty where "
                                 "answer_source like 'majority@%' and majority_agreement >= ?", [cfg.min_agreement]).fetchall()
        finally:
            con.close()
        return cls({r[0]: r[1] for r in rows}, {r[0]: r[2] for r in rows}, cfg.keep_unmeasured,
                   {r[0]: (r[1], r[2]) for r in labels} if cfg.pseudo_labels else {})

    def label(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """Problems with ``answer_source``: ``gold`` where they have an answer, ``majority@k`` where a
        pseudo-label fills a missing one (opt-in: never silently mixed with real gold)."""
        answers = batch.column("answer").to_pylist()
        ids = batch.column("problem_id").to_pylist()
        filled = [a if a is not None else self.labels.get(i, (None, None))[0] for a, i in zip(answers, ids)]
        source = ["gold" if a is not None else self.labels.get(i, (None, None))[1] for a, i in zip(answers, ids)]
        idx = batch.schema.get_field_index("answer")
        batch = batch.set_column(idx, "answer", pa.array(filled, pa.string()))
        return batch.append_column("answer_source", pa.array(source, pa.string()))

    def count_kept(self, batch: pa.RecordBatch) -> int:
        return sum(self.keep.get(i, self.keep_unmeasured) for i in batch.column("problem_id").to_pylist())

    def split(self, batch: pa.RecordBatch) -> tuple[pa.RecordBatch, pa.RecordBatch]:
        """(kept rows, rejected rows with ``reason`` and ``pass_rate``)."""
        ids = batch.column("problem_id").to_pylist()
        keep = [self.keep.get(i, self.keep_unmeasured) for i in ids]
        mask = pa.array(keep, pa.bool_())
        dropped = batch.filter(pc.invert(mask))
        rates = [self.pass_rate.get(i) for i in dropped.column("problem_id").to_pylist()]
        reasons = ["no_difficulty" if i not in self.keep else ("too_easy" if (r or 0.0) >= 0.5 else "too_hard")
                   for i, r in zip(dropped.column("problem_id").to_pylist(), rates)]
        rejects = dropped.append_column("reason", pa.array(reasons, pa.string()))
        rejects = rejects.append_column("pass_rate", pa.array(rates, pa.float64()))
        return batch.filter(mask), rejects

    def histogram(self, before: list[str], after: list[str]) -> dict[str, Any]:
        """Pass-rate histogram of the measured prompts before and after the filter (a card table)."""
        def counts(ids: list[str]) -> list[int]:
            rates = [self.pass_rate.get(i) for i in ids if self.pass_rate.get(i) is not None]
            return [sum((lo < r <= hi) if lo != hi else r == lo for r in rates) for lo, hi, _ in BINS]

        return {"columns": ["pass rate", "before", "after"],
                "rows": [[label, b, a] for (_, _, label), b, a in zip(BINS, counts(before), counts(after))]}


class PassRateFilter:
    """Applies ``Decisions`` batch by batch, keeps narrow rejects, then writes them and the card histogram."""

    def __init__(self, ctx, cfg: DifficultyFilter, problems, template: str):
        self.table = difficulty_table(ctx, cfg, problems, template)
        self.decisions = Decisions.of(self.table, cfg) if self.table is not None else None
        self.before: list[str] = []
        self.after: list[str] = []
        self.rejects: list[pa.RecordBatch] = []

    def label(self, problems: pa.RecordBatch) -> pa.RecordBatch:
        """Fill missing math answers with majority votes when ``pseudo_labels`` is on (else unchanged)."""
        if self.decisions is None or not self.decisions.labels:
            return problems
        return self.decisions.label(problems)

    def __call__(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        if self.decisions is None:
            return batch
        kept, rejected = self.decisions.split(batch)
        self.before += batch.column("problem_id").to_pylist()
        self.after += kept.column("problem_id").to_pylist()
        if rejected.num_rows:  # narrow: ids, reason and pass rate; the text stays in the parent
            self.rejects.append(rejected.select(["problem_id", "reason", "pass_rate"]))
        return kept

    def finish(self, ctx) -> None:
        if self.decisions is None:
            return
        ctx.write_rejects(self.rejects or [pa.RecordBatch.from_pylist(
            [], schema=pa.schema([("problem_id", pa.string()), ("reason", pa.string()), ("pass_rate", pa.float64())]))])
        pseudo = len(set(self.after) & set(self.decisions.labels))
        ctx.note(histograms={"pass rate under the policy (difficulty filter)": self.decisions.histogram(self.before, self.after)},
                 stats={"difficulty_table": self.table.ref, "difficulty_kept": len(self.after),
                        "difficulty_dropped": len(self.before) - len(self.after), "pseudo_labeled": pseudo,
                        "pseudo_label_share": round(pseudo / len(self.after), 4) if self.after else 0.0})

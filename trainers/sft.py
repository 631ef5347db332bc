"""SFT on an ``sft_samples`` snapshot: TRL's SFTTrainer on the ``messages`` column, assistant tokens only.

R1 defaults (used only where the user sets nothing): 2 epochs (R1 §2.3.3: "fine-tune
DeepSeek-V3-Base for two epochs" on the 800k set) and ``assistant_only_loss=True``.

Why assistant-only loss and not ``completion_only_loss``: the samples are multi-turn
conversations (few-shot turns, system prompts), and every assistant turn is a target, not
only the last; a prompt/completion split would either drop earlier assistant turns from the
loss or train on user text. TRL 1.16 computes the mask from ``{% generation %}`` markers in
the chat template and patches known templates itself; for a plain ChatML template it does
not know (tiny test models, many Qwen-style fine-tunes) this module installs a marked
ChatML template, after checking it renders every probe conversation byte for byte like the
original, so inference formatting is unchanged. The end-of-turn token ``<|im_end|>`` is
inside the marked span: the model learns to stop.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from factory.store.snapshot import Snapshot
from factory.store.store import Store
from trainers.common import TrainResult, build_trl_config, finish, import_trl, last_checkpoint, load_data

R1_DEFAULTS = {"num_train_epochs": 2, "assistant_only_loss": True}

CHATML_TRAINING_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'assistant' %}"
    "{{ '<|im_start|>assistant\n' }}{% generation %}{{ message['content'] + '<|im_end|>' }}{% endgeneration %}{{ '\n' }}"
    "{% else %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
_PROBES = (
    [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "<think>2+2=4</think> 4"}],
    [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"},
     {"role": "assistant", "content": "hello"}, {"role": "user", "content": "bye"}],
)


def ensure_generation_markers(tokenizer: Any) -> bool:
    """Give ``tokenizer`` a ``{% generation %}``-marked chat template if TRL cannot make one.

    Returns:
        True when the template was replaced by :data:`CHATML_TRAINING_TEMPLATE`.

    Raises:
        ValueError: the template has no markers, TRL has no training version of it, and it
            is not plain ChatML; the fix is a template with ``{% generation %}`` markers.
    """
    from trl.chat_template_utils import get_training_chat_template, has_generation_markers

    template = tokenizer.chat_template
    if not template or has_generation_markers(template):
        return False
    try:
        get_training_chat_template(tokenizer)
        return False  # TRL patches this template itself
    except ValueError:
        pass
    for kwargs in ({"add_generation_prompt": False}, {"add_generation_prompt": True}):
        for probe in _PROBES:
            want = tokenizer.apply_chat_template(probe, tokenize=False, **kwargs)
            got = tokenizer.apply_chat_template(probe, tokenize=False, chat_template=CHATML_TRAINING_TEMPLATE, **kwargs)
            if want != got:
                raise ValueError("assistant_only_loss needs a chat template with {% generation %} markers and this "
                                 "tokenizer's template is not one TRL can patch; add the markers or set "
                                 "assistant_only_loss=false")
    tokenizer.chat_template = CHATML_TRAINING_TEMPLATE
    return True


def make_sft_trainer(store: Store, snap_or_ref: str | Snapshot, model_path: str, output_dir: str | Path,
                     trl_overrides: dict[str, Any] | None = None, *, defaults: dict[str, Any] | None = None,
                     callbacks: list | None = None):
    """An ``SFTTrainer`` ready to train on the snapshot (no training yet): tests inspect its dataset."""
    from transformers import AutoTokenizer
    SFTConfig, SFTTrainer = import_trl("SFTConfig", "SFTTrainer")

    args = build_trl_config(SFTConfig, Path(output_dir).resolve(), {**R1_DEFAULTS, **(defaults or {})}, trl_overrides)
    snap, dataset = load_data(store, snap_or_ref, ("sft_samples",), "messages")
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    if args.assistant_only_loss:
        ensure_generation_markers(tokenizer)
    trainer = SFTTrainer(model=model_path, args=args, train_dataset=dataset.select_columns(["messages"]),
                         processing_class=tokenizer, callbacks=callbacks)
    return snap, trainer


def train_sft(store: Store, data_ref: str | Snapshot, model_path: str, output_dir: str | Path,
              trl_overrides: dict[str, Any] | None = None, *, resume_from_checkpoint: str | bool | None = None,
              callbacks: list | None = None, kind: str = "sft", defaults: dict[str, Any] | None = None,
              extra: dict[str, Any] | None = None) -> TrainResult:
    """Fine-tune ``model_path`` on snapshot ``data_ref``; the library function behind ``factory train sft``.

    Args:
        store: the snapshot store.
        data_ref: ``sft_samples`` snapshot, ``NAME`` or ``NAME@ID``.
        model_path: model to start from (folder or Hub id).
        output_dir: where checkpoints and the final model go.
        trl_overrides: ``SFTConfig`` fields (YAML / ``--set``); they win over ``defaults`` and R1's.
        resume_from_checkpoint: a ``checkpoint-N`` folder, or ``True``/``"latest"``.
        callbacks: extra ``transformers.TrainerCallback`` objects.
        kind: trainer name recorded in the lineage (``sft`` or ``distill``).
        defaults: extra defaults under the user's overrides (distillation student settings).
        extra: more fields for ``factory_manifest.json``.

    Returns:
        A :class:`TrainResult`.
    """
    checkpoint = last_checkpoint(output_dir, resume_from_checkpoint)
    snap, trainer = make_sft_trainer(store, data_ref, model_path, output_dir, trl_overrides, defaults=defaults,
                                     callbacks=callbacks)
    out = trainer.train(resume_from_checkpoint=checkpoint)
    return finish(store, trainer, snap, kind, model_path, extra=extra, metrics=out.metrics)

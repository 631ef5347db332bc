"""RL prompts, GRPO-ready: a ``prompt`` plus gold columns TRL passes to rewards.

``prompt`` is conversational (role/content messages: TRL applies the model's chat template) or,
for a raw template such as R1-Zero's, the plain text a base model sees (TRL tokenizes a string
prompt as is). 1.1.0 allowed the string form.
"""

import pyarrow as pa

from schemas._base import TableSchema, message_type

SPEC = TableSchema(
    kind="rl_prompts",
    version="1.1.0",
    doc="one GRPO prompt with its gold columns",
    schema=pa.schema(
        [
            pa.field("problem_id", pa.string(), nullable=False),
            pa.field("prompt", message_type(), nullable=False),
            pa.field("answer", pa.string()),
            pa.field("tests", pa.string()),
            pa.field("domain", pa.string()),
            pa.field("language", pa.string()),
            pa.field("reward_type", pa.string()),  # rule | reward_model (R1 all-scenario RL routing)
        ]
    ),
    optional=frozenset({"answer", "tests", "domain", "language", "reward_type"}),
    alternatives={"prompt": (pa.string(),)},
)

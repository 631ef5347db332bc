"""Model calls: backends, the sharded generation stage, prompt templates, and the LLM judge with its prompts.

May import: factory.store, factory.rewards (verdict vocabulary) and the core modules; never pipelines."""

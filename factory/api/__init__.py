"""The library behind the CLI: one function per command (same names), the builder runner and the demo.

This is the orchestration layer: it may import pipelines and trainers; nothing below imports it."""

from factory.api.commands import (  # noqa: F401
    catalog_rebuild,
    doctor,
    export,
    gc,
    generate,
    import_review,
    import_rollouts,
    ls,
    problems_ref,
    publish,
    score,
    show,
)
from factory.curate.review import export_for_review  # noqa: F401

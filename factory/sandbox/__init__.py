"""The code sandbox: untrusted programs run isolated and resource-capped against test cases.

May import: schemas and the core modules only (so rewards can use it); the harness imports nothing of the project."""

from factory.sandbox.runner import (  # noqa: F401
    RunResult,
    SandboxConfig,
    SandboxError,
    SandboxUnavailable,
    TestReport,
    run_program,
    run_tests,
    run_tests_batch,
    sandbox_info,
)

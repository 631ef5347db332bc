"""The hostile suite (issue #11) in every mode: root, root without CAP_SYS_ADMIN, an ordinary user.

Each mode runs the grader itself in a subprocess (``launch.py`` sets the mode up) that grades
every program of ``hostile_driver.py`` and checks every invariant from outside the sandbox.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
REPO = HERE.parent.parent
MODES = {"root": "root", "root-no-sys-admin": "userns", "user": "userns"}


def run_driver(mode: str, *, launch_mode: str | None = None, timeout: float = 300) -> dict:
    """Run the hostile driver as a grader in ``mode``; its JSON report."""
    secret = secrets.token_hex(16)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(REPO), "HF_TOKEN": f"hf_{secret}",
           "HOME": "/nonexistent", "LANG": "C.UTF-8"}
    cmd = [sys.executable, str(HERE / "hostile_driver.py"), secret]
    if os.geteuid() == 0:
        cmd = [sys.executable, str(HERE / "launch.py"), launch_mode or mode, "--", *cmd]
    elif mode != "user":
        pytest.skip(f"simulating mode {mode!r} needs root")
    proc = subprocess.run(cmd, env=env, cwd="/", capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.slow
@pytest.mark.parametrize("mode", list(MODES))
def test_hostile_programs_are_contained(mode):
    report = run_driver(mode)
    if report["mode"] is None and mode != "root":
        pytest.skip(f"user namespaces are unavailable on this machine: {report['tried']}")
    assert report["mode"] == MODES[mode], report["tried"]
    assert len(report["results"]) >= 20
    failures = [f"{r['name']}: {check} failed (verdict {r['verdict']}, status {r['status']}): {r['output']!r}"
                for r in report["results"] for check, ok in r["checks"].items() if not ok]
    assert not failures, "\n".join(failures)

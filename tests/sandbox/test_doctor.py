"""`factory doctor`: the active sandbox mode, the mechanisms found, the limits in force."""

from __future__ import annotations

from typer.testing import CliRunner

from factory.cli import app
from factory.sandbox.doctor import sandbox_report
from factory.sandbox.runner import SandboxConfig


def test_report_names_mode_mechanisms_and_limits():
    rows = dict(sandbox_report(SandboxConfig(memory_mb=300, timeout_s=3)))
    assert rows["mode"].split(":")[0] in ("root", "userns")
    assert any(k.startswith("mechanism ") for k in rows)
    assert rows["memory"] == "300 MiB (RLIMIT_AS)" and rows["wall clock per case"] == "3 s"
    assert rows["network"].startswith("only a down lo")


def test_report_without_a_mechanism_says_what_to_do():
    rows = sandbox_report(SandboxConfig(mechanisms=()))
    assert rows[0][1].startswith("UNAVAILABLE") and "network" not in dict(rows)
    assert rows[-1][0] == "why / what to do" and "max_user_namespaces" in rows[-1][1]


def test_cli_doctor_prints_the_table():
    result = CliRunner().invoke(app, ["doctor"])
    assert result.exit_code == 0, result.output
    assert "mode" in result.output and "RLIMIT_AS" in result.output

"""What the sandbox can do on this machine, as rows a person reads (``factory doctor``)."""

from __future__ import annotations

from typing import Any

from factory.sandbox.runner import SandboxConfig, sandbox_info

MODE_TEXT = {
    "root": "root: namespaces as root, each program under a private uid",
    "userns": "userns: unprivileged user namespaces, each program PID 1 of its own PID namespace",
    "unsafe": "UNSAFE: no isolation (unsafe_unsandboxed_code opt-in), rlimits only",
    None: "UNAVAILABLE: no isolation mechanism works; code rows are unverifiable (sandbox_unavailable)",
}


def _yes(flag: Any) -> str:
    return "yes" if flag else "no"


def sandbox_report(config: SandboxConfig | None = None) -> list[tuple[str, str]]:
    """(what, value) rows: the active mode, each mechanism's finding, the isolation and limits in force.

    Args:
        config: the sandbox settings to probe (default ``SandboxConfig()``).

    Returns:
        Rows in reading order; the first is the mode, the last the fix when nothing works.
    """
    config = config or SandboxConfig()
    info = sandbox_info(config)
    host, limits = info["host"], info["rlimits"]
    rows = [("mode", MODE_TEXT.get(info.get("mode"), str(info.get("mode"))))]
    rows += [(f"mechanism {name}", why) for name, why in info.get("tried", {}).items()]
    rows += [("host", ", ".join(f"{k}={v}" for k, v in host.items()))]
    if info.get("mode") is not None:
        rows += [
            ("network", "only a down lo (own network namespace)" if info["network_isolated"] else "HOST NETWORK"),
            ("file system", "read-only jail: system folders + interpreter; private /sandbox, /tmp, /dev/shm "
                            f"({config.tmpfs_mb} MiB tmpfs each)" if info["fs_jail"] else "THE HOST'S FILES"),
            ("private uid", _yes(info["uid_switch"])),
            ("own PID namespace per case", _yes(info.get("pid_ns"))),
            ("process cap exact", _yes(info["process_cap"])),
        ]
    rows += [
        ("wall clock per case", f"{config.timeout_s:g} s"),
        ("CPU per case", f"{limits['cpu_s']} s (RLIMIT_CPU)"),
        ("memory", f"{limits['memory_mb']} MiB (RLIMIT_AS)"),
        ("output per stream/file", f"{limits['fsize_bytes']:,} bytes (RLIMIT_FSIZE)"),
        ("processes + threads", f"{limits['nproc']} (RLIMIT_NPROC)"),
        ("open files", str(limits["nofile"])),
    ]
    if info.get("unavailable"):
        rows.append(("why / what to do", info["unavailable"]))
    return rows

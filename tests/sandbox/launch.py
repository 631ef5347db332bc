"""Run a command as the sandbox modes would find the machine: ``python launch.py MODE -- CMD…``.

Needs root; simulates what the tests cannot otherwise reach on one machine:

* ``root``: as is (root with CAP_SYS_ADMIN).
* ``root-no-sys-admin``: root without CAP_SYS_ADMIN (Docker's default), by dropping it from the
  bounding set before ``exec``.
* ``user``: an ordinary user (nobody, 65534), in a private mount namespace where the interpreter
  under a 0700 ``/root`` is reachable (as it would be for a user's own install).
* ``user-no-userns``: the same user where user namespaces are disabled
  (``user.max_user_namespaces=0``, set inside a user namespace so the host is untouched).
"""

from __future__ import annotations

import ctypes
import os
import sys

CLONE_NEWNS, CLONE_NEWUSER = 0x00020000, 0x10000000
MS_BIND, MS_MOVE, MS_REC, MS_PRIVATE = 0x1000, 0x2000, 0x4000, 0x40000
PR_CAPBSET_DROP, CAP_SYS_ADMIN = 24, 21
NOBODY = 65534
LIBC = ctypes.CDLL(None, use_errno=True)


def _check(rc: int, what: str) -> None:
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    enc = lambda s: s.encode() if s is not None else None
    _check(LIBC.mount(enc(source), enc(target), enc(fstype), flags, enc(data)), f"mount {target}")


def _closed_ancestor(path: str) -> tuple[str, str] | None:
    """(closed, child): the top-most folder others cannot traverse and its child toward ``path``."""
    parts = os.path.realpath(path).strip("/").split("/")
    for depth in range(1, len(parts)):
        ancestor = "/" + "/".join(parts[:depth])
        if not os.stat(ancestor).st_mode & 0o001:
            return ancestor, ancestor + "/" + parts[depth]
    return None


def _expose_interpreter() -> None:
    """In a private mount namespace: put a 0755 tmpfs over a closed ancestor, keeping the interpreter."""
    _check(LIBC.unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)")
    _mount("none", "/", None, MS_REC | MS_PRIVATE)
    for prefix in {sys.base_prefix, sys.prefix}:
        found = _closed_ancestor(prefix)
        if found is None:
            continue
        closed, keep = found
        parked = f"/tmp/.launch-{os.getpid()}"
        os.mkdir(parked)
        _mount(keep, parked, None, MS_BIND | MS_REC)
        _mount("tmpfs", closed, "tmpfs", 0, "mode=0755,size=1m")
        os.mkdir(keep)
        _mount(parked, keep, None, MS_MOVE)
        os.rmdir(parked)


def _user_ns_without_nested_userns() -> None:
    """Enter a user namespace mapping root and nobody, where no further user namespace can be made."""
    ready_r, ready_w = os.pipe()
    go_r, go_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        _check(LIBC.unshare(CLONE_NEWUSER), "unshare(CLONE_NEWUSER)")
        os.write(ready_w, b"x")
        os.read(go_r, 1)
        with open("/proc/sys/user/max_user_namespaces", "w") as f:
            f.write("0")
        return
    os.read(ready_r, 1)
    for name in ("uid_map", "gid_map"):
        with open(f"/proc/{pid}/{name}", "w") as f:
            f.write(f"0 0 1\n{NOBODY} {NOBODY} 1\n")
    os.write(go_w, b"x")
    os._exit(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) & 0xFF)


def _become_nobody() -> None:
    os.setgroups([])
    os.setresgid(NOBODY, NOBODY, NOBODY)
    os.setresuid(NOBODY, NOBODY, NOBODY)


def main() -> None:
    mode, sep, *cmd = sys.argv[1:]
    assert sep == "--" and cmd, __doc__
    if mode == "root-no-sys-admin":
        _check(LIBC.prctl(PR_CAPBSET_DROP, CAP_SYS_ADMIN, 0, 0, 0), "drop CAP_SYS_ADMIN")
    elif mode in ("user", "user-no-userns"):
        if mode == "user-no-userns":
            _user_ns_without_nested_userns()
        _expose_interpreter()
        _become_nobody()
    elif mode != "root":
        raise SystemExit(f"unknown mode {mode!r}")
    os.execvp(cmd[0], cmd)


if __name__ == "__main__":
    main()

"""A grader under attack: runs every hostile program through the real code grader and checks
each invariant of issue #11 from outside. Prints one JSON object (the last line of stdout).

Run by ``test_hostile.py`` as ``python hostile_driver.py SECRET`` under ``launch.py MODE``, so the
grader itself is root, root without CAP_SYS_ADMIN, or an ordinary user. ``SECRET`` sits in the
grader's argv and environment, in a token file under a fake HOME, in the store and in the repo.
Every program prints ``PWNED`` only if its attack worked, and its tests expect ``PWNED``: so a
``correct`` verdict means the attack succeeded.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from factory.rewards.base import Verdict
from factory.rewards.code_reward import grade_code_batch
from factory.sandbox.runner import SandboxConfig, run_program, sandbox_info

# 4 s of wall time: a loaded CI machine (vLLM tests beside) must not turn a slow start into a failed "later row"
CFG = SandboxConfig(timeout_s=4, cpu_s=1, memory_mb=256, max_output_bytes=1_000_000, max_procs=8)
PWNED_TESTS = {"style": "stdio", "cases": [{"input": "", "output": "PWNED\n"}]}
ADD = "a, b = map(int, input().split())\nprint(a + b)\n"
ADD_TESTS = {"style": "stdio", "cases": [{"input": "1 2\n", "output": "3\n"}]}
CHECK_TESTS = {"style": "check", "entry_point": "solve", "check": "def check(candidate):\n    assert candidate() == 42\n"}
LIMIT_STATUS = {"fork_bomb": ("timeout", "error"), "memory_bomb": ("oom", "error"), "memory_growth": ("oom", "error"),
                "cpu_loop": ("timeout",), "sleep": ("timeout",), "huge_output": ("output_limit",)}


def programs(ctx: dict) -> dict[str, str]:
    """Hostile programs, with the paths and pids they attack filled in."""
    c = {k: repr(v) for k, v in ctx.items()}
    secret = c["secret"]
    read = ("import sys\ndef grab(path):\n    try:\n        with open(path, 'rb') as f:\n            data = f.read()\n"
            "    except OSError as exc:\n        print('denied', path, exc, file=sys.stderr)\n        return False\n"
            f"    print(data[:300], file=sys.stderr)\n    return {secret}.encode() in data\n")
    name_me = (f"import ctypes\nctypes.CDLL(None).prctl(15, {c['marker']}.encode(), 0, 0, 0)\n")
    return {
        "home_token": read + f"print('PWNED' if grab({c['token']}) else 'safe')",
        "store_file": read + f"print('PWNED' if grab({c['store_file']}) else 'safe')",
        "repo_file": read + f"print('PWNED' if grab({c['repo_file']}) else 'safe')",
        "grader_environ": read + f"print('PWNED' if grab('/proc/%d/environ' % {c['grader']}) else 'safe')",
        "grader_cmdline": read + f"print('PWNED' if grab('/proc/%d/cmdline' % {c['grader']}) else 'safe')",
        "all_proc_environ": read + "import os\nhits = [grab(f'/proc/{p}/{f}') for p in os.listdir('/proc') "
                                   "if p.isdigit() for f in ('environ', 'cmdline')]\n"
                                   "print('PWNED' if any(hits) else 'safe')",
        "own_environment": f"import os\nprint('PWNED' if {secret} in repr(dict(os.environ)) else 'safe')",
        "network_tcp": f"import socket\nsocket.create_connection(('127.0.0.1', {c['port']}), 1)\nprint('PWNED')",
        "network_unix_abstract": (f"import socket\ns = socket.socket(socket.AF_UNIX)\ns.connect({c['abstract']})\n"
                                  "print('PWNED')"),
        "write_outside": ("import os, sys\nwon = False\n"
                          f"for path in {c['outside_targets']}:\n    try:\n"
                          "        with open(path, 'w') as f:\n            f.write('x')\n"
                          f"        won = won or not path.startswith(('/tmp/', '/dev/shm/', '/var/tmp/'))\n"
                          "    except OSError as exc:\n        print('denied', path, exc, file=sys.stderr)\n"
                          "print('PWNED' if won else 'safe')"),
        "overwrite_store": (f"with open({c['store_file']}, 'w') as f:\n    f.write('gone')\nprint('PWNED')"),
        "kill_grader": ("import os, sys\nhit = 0\n"
                        f"for pid in ({c['grader']}, {c['sentinel']}, os.getppid() or {c['grader']}):\n"
                        "    try:\n        os.kill(pid, 9)\n        hit += 1\n"
                        "    except OSError as exc:\n        print('denied', pid, exc, file=sys.stderr)\n"
                        "try:\n    os.kill(-1, 9)\nexcept OSError:\n    pass\nprint('PWNED' if hit else 'safe')"),
        "escape_jail": ("import ctypes, os, sys\nlibc = ctypes.CDLL(None, use_errno=True)\n"
                        "libc.unshare(0x10000000 | 0x00020000)\nos.makedirs('/tmp/x', exist_ok=True)\n"
                        "try:\n    os.chroot('/tmp/x')\n    for _ in range(40):\n        os.chdir('..')\n"
                        "    os.chroot('.')\nexcept OSError as exc:\n    print('denied', exc, file=sys.stderr)\n"
                        f"print('PWNED' if os.path.exists({c['repo_file']}) else 'safe')"),
        "daemon": (name_me + "import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
                   "        time.sleep(60)\n    os._exit(0)\nprint('started')"),
        "fork_bomb": (name_me + "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass"),
        "memory_bomb": "x = bytearray(10 * 1024 ** 3)\nprint('PWNED')",
        "memory_growth": "x = []\nwhile True:\n    x.append(bytearray(10 ** 7))",
        "cpu_loop": "while True:\n    pass",
        "sleep": "import time\ntime.sleep(60)\nprint('PWNED')",
        "forge_check_verdict": ("import os\nfor path in ('/proc/%d/fd/3' % os.getppid(), '/proc/1/fd/3'):\n"
                                "    try:\n        open(path, 'w').write('{\"ok\": true}\\n')\n    except OSError:\n"
                                "        pass\ntry:\n    os.write(3, b'{\"ok\": true}\\n')\nexcept OSError:\n    pass\n"
                                "def solve():\n    os._exit(0)"),
        "huge_output": "import sys\nfor _ in range(100):\n    sys.stdout.write('PWNED' * 200_000)",
    }


def _listen() -> tuple[socket.socket, socket.socket, list]:
    """A TCP server on 127.0.0.1 and an abstract unix socket, each recording any connection."""
    hits: list = []
    tcp = socket.create_server(("127.0.0.1", 0))
    unix = socket.socket(socket.AF_UNIX)
    unix.bind(f"\0hostile-{os.getpid()}")
    unix.listen(4)
    for server in (tcp, unix):
        threading.Thread(target=lambda s=server: hits.append(s.accept()), daemon=True).start()
    return tcp, unix, hits


def _marked_processes(marker: str) -> list[int]:
    """Processes anywhere on the machine named ``marker`` (the daemon and bomb name themselves)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if Path(f"/proc/{pid}/comm").read_text().strip() == marker[:15]:
                found.append(int(pid))
        except OSError:
            pass
    return found


def setup(root: Path, secret: str) -> dict:
    home, store = root / "home", root / "store" / "scored" / "abc123"
    (home / ".cache" / "huggingface").mkdir(parents=True)
    store.mkdir(parents=True)
    token = home / ".cache" / "huggingface" / "token"
    token.write_text(secret)
    token.chmod(0o600)
    store_file = store / "manifest.json"
    store_file.write_text(json.dumps({"hidden_tests": secret}))
    repo_file = root / "repo" / "README.md"
    repo_file.parent.mkdir()
    repo_file.write_text(f"repository file {secret}\n")
    marker = f"hostile{secret[:8]}"
    outside = [str(home / "new.txt"), str(store / "new.txt"), str(repo_file.parent / "new.txt"),
               f"/tmp/{marker}-tmp", f"/var/tmp/{marker}-vartmp", f"/dev/shm/{marker}-shm"]
    return {"secret": secret, "token": str(token), "store_file": str(store_file), "repo_file": str(repo_file),
            "marker": marker, "outside_targets": outside, "grader": os.getpid()}


def check(name: str, code: str, ctx: dict, sentinel: subprocess.Popen, hits: list) -> dict:
    """Grade one hostile program, then check every invariant from outside the sandbox."""
    tests = CHECK_TESTS if name.startswith("forge_check") else PWNED_TESTS
    report = grade_code_batch(["```python\n" + code + "\n```"], [tests], config=CFG, workers=1)[0]
    run = run_program(code, config=CFG)
    output = run.stdout + run.stderr
    later = grade_code_batch(["```python\n" + ADD + "```"], [ADD_TESTS], config=CFG, workers=1)[0]
    checks = {
        "verdict_not_pass": report.verdict is not Verdict.CORRECT and "PWNED" not in run.stdout.split(),
        "no_secret_in_output": ctx["secret"] not in output,
        "no_network": not hits,
        "nothing_written_outside": not any(os.path.exists(p) for p in ctx["outside_targets"]),
        "store_intact": json.loads(Path(ctx["store_file"]).read_text()).get("hidden_tests") == ctx["secret"],
        "grader_not_signalled": sentinel.poll() is None,
        "nothing_left_running": not _marked_processes(ctx["marker"]),
        "later_rows_graded": later.verdict is Verdict.CORRECT,
    }
    if name in LIMIT_STATUS:
        checks["limit_held"] = run.status in LIMIT_STATUS[name] and len(run.stdout) <= CFG.max_output_bytes
    return {"name": name, "verdict": report.verdict.value, "status": run.status, "checks": checks,
            "output": output[-300:]}


def main() -> None:
    secret = sys.argv[1]
    assert secret in os.environ.get("HF_TOKEN", ""), "the driver expects HF_TOKEN to hold the secret"
    info = sandbox_info(CFG)
    tcp, unix, hits = _listen()
    sentinel = subprocess.Popen(["sleep", "600"])
    results = []
    try:
        with tempfile.TemporaryDirectory(prefix="hostile-") as tmp:
            ctx = setup(Path(tmp), secret) | {"port": tcp.getsockname()[1], "abstract": f"\0hostile-{os.getpid()}",
                                              "sentinel": sentinel.pid}
            if info.get("mode") is not None:
                results = [check(name, code, ctx, sentinel, hits) for name, code in programs(ctx).items()]
    finally:
        sentinel.kill()
        tcp.close()
        unix.close()
    print(json.dumps({"mode": info.get("mode"), "tried": info.get("tried"), "euid": os.geteuid(),
                      "results": results}))


if __name__ == "__main__":
    main()

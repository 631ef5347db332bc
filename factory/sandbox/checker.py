"""Check-style tests (HumanEval/MBPP): ``def check(candidate): assert …`` run against the program.

Stdlib only, like ``harness``. The check and the program run in two processes of one case,
so the program cannot forge a pass: the *checker* (the case's process, which alone holds
the result fd and is not dumpable, so the program can neither ptrace it nor open its fds)
runs the check code with ``candidate`` (and any other program name the check uses, such as
HumanEval/32's ``poly``) bound to proxies; the *program* process, forked from it, runs the
solution as ``__main__`` and then answers calls. Arguments and results cross a pipe as
Python literals (``repr`` then ``ast.literal_eval``), so a result is data, never code.

``ast`` and ``json`` are imported where used (inside the jail, from the bound interpreter):
every harness imports this module, and they would add milliseconds to every program's start.
"""

import os

PR_SET_DUMPABLE, PR_SET_PDEATHSIG, SIGKILL = 4, 1, 9
REPLY_CAP = 16 << 20
_SPECIAL = {"inf": float("inf"), "nan": float("nan")}


def free_names(source):
    """Names the check code reads but neither defines nor gets from builtins: program names.

    >>> free_names("def check(candidate):\\n    assert poly(candidate([1]), 2) == len('x')")
    ['poly']
    """
    import ast
    import builtins

    tree = ast.parse(source)
    defined = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            defined.add(node.name)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            args = node.args
            defined.update(a.arg for a in args.posonlyargs + args.args + args.kwonlyargs)
            defined.update(a.arg for a in (args.vararg, args.kwarg) if a is not None)
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            defined.update((a.asname or a.name).split(".")[0] for a in node.names)
        if isinstance(node, ast.ExceptHandler) and node.name:
            defined.add(node.name)
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    return sorted(used - defined - set(dir(builtins)) - {"candidate"})


def literal(text):
    """``ast.literal_eval`` that also reads ``inf`` and ``nan`` (the repr of such floats).

    >>> literal("[1, (2.5, -inf), {'a': None}]")
    [1, (2.5, -inf), {'a': None}]
    """
    import ast

    tree = ast.parse(text, mode="eval")
    for node in ast.walk(tree):
        for field, value in ast.iter_fields(node):
            values = value if isinstance(value, list) else [value]
            fixed = [ast.Constant(_SPECIAL[v.id]) if isinstance(v, ast.Name) and v.id in _SPECIAL else v
                     for v in values]
            setattr(node, field, fixed if isinstance(value, list) else fixed[0])
    return ast.literal_eval(tree.body)


def _send(fd, obj):
    import json

    data = json.dumps(obj).encode() + b"\n"
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _receive(stream):
    import json

    line = stream.readline(REPLY_CAP)
    if not line.endswith(b"\n"):
        raise EOFError("the program ended (or answered too much) before returning")
    return json.loads(line)


class _Proxy:
    """Calls a name of the program across the pipe; raises whatever went wrong as RuntimeError."""

    def __init__(self, name, requests, replies):
        self.name, self.requests, self.replies = name, requests, replies

    def __call__(self, *args, **kwargs):
        _send(self.requests, {"fn": self.name, "args": repr(args), "kwargs": repr(kwargs)})
        reply = _receive(self.replies)
        if "error" in reply:
            raise RuntimeError("%s raised %s" % (self.name, reply["error"]))
        try:
            return literal(reply["value"])
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            raise TypeError("%s returned a value that is not a literal: %.80s" % (self.name, reply["value"])) from None


def serve(scope, requests, replies):
    """The program side: answer calls until the checker closes the pipe."""
    stream = os.fdopen(requests, "rb", buffering=1 << 16)
    while True:
        try:
            call = _receive(stream)
        except (EOFError, ValueError):
            return
        fn = scope.get(call["fn"])
        if fn is None and isinstance(scope.get("Solution"), type):
            fn = getattr(scope["Solution"](), call["fn"], None)
        try:
            if not callable(fn):
                raise LookupError("no function named %r" % call["fn"])
            reply = {"value": repr(fn(*literal(call["args"]), **literal(call["kwargs"])))}
        except Exception as exc:
            reply = {"error": "%s: %s" % (type(exc).__name__, str(exc)[:200])}
        _send(replies, reply)


def run_check(job, run_program, libc):
    """The case process: fork the program (which serves calls), run the check, report on fd 3.

    ``run_program(scope_callback)`` runs the solution as ``__main__`` and calls back with its
    globals; it is given by the harness so that exit codes and tracebacks match other styles.
    """
    to_program_r, to_program_w = os.pipe()
    to_checker_r, to_checker_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the program: no result fd, no way back into the checker
        os.close(3)
        os.close(to_program_w)
        os.close(to_checker_r)
        libc.prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0)
        os._exit(run_program(lambda scope: serve(scope, to_program_r, to_checker_w)))
    libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    os.close(to_program_r)
    os.close(to_checker_w)
    replies = os.fdopen(to_checker_r, "rb", buffering=1 << 16)
    import builtins

    source, entry = job["check"], job["fn_name"]
    scope = {"__name__": "__check__", "__builtins__": builtins}
    scope.update({name: _Proxy(name, to_program_w, replies) for name in free_names(source)})
    try:
        exec(compile(source, "check.py", "exec"), scope)
        if entry:
            scope["check"](_Proxy(entry, to_program_w, replies))
        line = {"ok": True}
    except BaseException as exc:  # a failed assert, an error, or the program gone
        line = {"ok": False, "error": "%s: %s" % (type(exc).__name__, str(exc)[:200])}
    _send(3, line)
    os.close(to_program_w)
    try:
        os.kill(pid, SIGKILL)
    except OSError:
        pass
    _, status = os.waitpid(pid, 0)
    return 0

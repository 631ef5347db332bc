"""The isolation mechanisms the harness can enter: namespaces, the read-only jail, dropped capabilities.

Stdlib only, like ``harness`` (it runs before isolation, with nothing of the project). Two
mechanisms give the same isolation, and the harness uses the first that works:

* ``root``: real root with CAP_SYS_ADMIN. Mount, network and IPC namespaces; each case
  then drops to a private uid leased by the grader (see ``process.uid_lease``).
* ``userns``: unprivileged user namespaces (an ordinary user, or root without
  CAP_SYS_ADMIN, e.g. Docker's default). Root first switches to its leased private uid;
  then user + mount + network + IPC namespaces map that uid to ``INNER_ID``, and every case
  gets its own PID namespace (the program is its PID 1, so it can neither see nor signal
  the grader, and the kernel kills whatever it leaves behind) and drops every capability.

Both build the same jail: the system folders and the interpreter bound read-only, private
tmpfs for the cwd, ``/tmp`` and ``/dev/shm``, a ``/proc`` of the program's own processes,
and only a down ``lo``. When neither works, nothing runs (``Unavailable``).
"""

import ctypes
import os
import stat
import sys

CLONE_NEWNS, CLONE_NEWIPC, CLONE_NEWNET = 0x00020000, 0x08000000, 0x40000000
CLONE_NEWUSER, CLONE_NEWPID = 0x10000000, 0x20000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT = 0x1, 0x2, 0x4, 0x8, 0x20
MS_NOATIME, MS_NODIRATIME, MS_BIND, MS_REC, MS_PRIVATE = 0x400, 0x800, 0x1000, 0x4000, 0x40000
MS_STRICTATIME = 1 << 24
ST_RELATIME = 0x1000
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_CAPBSET_DROP, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 1, 4, 24, 47, 4
SIGKILL = 9
CAP_SYS_ADMIN = 21
INNER_ID = 1000  # the uid/gid a program has inside its user namespace (never 0)
JAIL = "jail"
WORKDIR = "/sandbox"  # the program's cwd inside the jail
JAIL_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")
DEV_FILES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")
LIBC = ctypes.CDLL(None, use_errno=True)


class Unavailable(Exception):
    """A mechanism cannot isolate here; the message says why (it never ran any code)."""


def _errno_text():
    err = ctypes.get_errno()
    return "%s (errno %d)" % (os.strerror(err), err)


def _mount(source, target, fstype, flags, options=None):
    if LIBC.mount(source and source.encode(), target.encode(), fstype and fstype.encode(), flags,
                  options and options.encode()) != 0:
        raise OSError(ctypes.get_errno(), "mount %s on %s failed" % (source, target))


def _locked_flags(path):
    """The flags of the mount holding ``path``: a user namespace may add, never clear, them."""
    st = os.statvfs(path).f_flag
    flags = st & (MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NODIRATIME)
    if st & MS_NOATIME:
        flags |= MS_NOATIME
    elif not st & ST_RELATIME:
        flags |= MS_STRICTATIME
    return flags


def _bind(source, target, handle=None):
    """Bind ``source`` read-only at ``target`` (a folder, or a device file).

    ``handle``: an ``O_PATH`` fd of ``source`` opened while this process could still traverse
    to it (binding from ``/proc/self/fd/N`` reaches folders under a 0700 ``/root``).
    """
    if stat.S_ISDIR(os.fstat(handle).st_mode if handle is not None else os.stat(source).st_mode):
        os.makedirs(target, 0o755, exist_ok=True)
        extra = MS_NOSUID | MS_NODEV
    else:
        os.makedirs(os.path.dirname(target), 0o755, exist_ok=True)
        os.close(os.open(target, os.O_CREAT | os.O_WRONLY, 0o644))
        extra = MS_NOSUID  # device files must keep working
    _mount(source if handle is None else "/proc/self/fd/%d" % handle, target, None, MS_BIND | MS_REC)
    _mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | extra | _locked_flags(target))


def jail_sources():
    """Folders and device files the jail binds: system folders, the interpreter, devices.

    The interpreter: its prefixes, and the folder of ``sys.executable`` (a venv's bin) so that
    programs can start sub-interpreters.
    """
    python = {os.path.realpath(p) for p in (sys.base_prefix, sys.prefix)}
    python.add(os.path.dirname(os.path.abspath(sys.executable)))
    folders, links, bound = [], [], []
    for path in JAIL_DIRS + tuple(sorted(python)):
        if os.path.islink(path):
            links.append(path)  # merged /usr: /bin -> usr/bin
        elif os.path.isdir(path) and not any(path.startswith(b + "/") for b in bound):
            folders.append(path)
            bound.append(path)
    return folders, links, [d for d in DEV_FILES if os.path.exists(d)]


def build_jail(job, tmp_owner, work_owner, sources, handles=None, proc=True):
    """A minimal root for the case to ``chroot`` into (tmpfs first, binds after, so an
    interpreter installed under /tmp stays visible). The repository, the store (and so
    hidden test answers), the home folder and the host's /tmp are simply not there."""
    if not os.path.isdir(JAIL):
        os.mkdir(JAIL, 0o755)
    _mount("tmpfs", JAIL, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0755")
    root = os.path.abspath(JAIL)
    for path, mode, owner in (("/tmp", "1777", tmp_owner), ("/dev/shm", "1777", tmp_owner),
                              (WORKDIR, "0700", work_owner)):
        os.makedirs(root + path, 0o755, exist_ok=True)
        _mount("tmpfs", root + path, "tmpfs", MS_NOSUID | MS_NODEV,
               "size=%dm,mode=%s,uid=%d,gid=%d" % (job["tmpfs_mb"], mode, owner, owner))
    folders, links, devices = sources
    for path in links:
        os.symlink(os.readlink(path), root + path)
    for path in folders + devices:
        _bind(path, root + path, (handles or {}).get(path))
    os.mkdir(root + "/proc", 0o555)
    if proc:
        mount_proc(root)


def mount_proc(root):
    """A procfs that shows only the program's own processes; none at all rather than the host's."""
    if LIBC.mount(b"proc", (root + "/proc").encode(), b"proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                  b"hidepid=invisible") != 0:
        pass  # an old kernel, or a masked /proc (containers): the jail keeps an empty /proc


def has_capability(cap):
    """Whether ``cap`` is in this process's effective set."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("CapEff:"):
                return bool(int(line.split()[1], 16) >> cap & 1)
    return False


def initial_user_ns():
    """True in the host's user namespace (root there is real root, not a container's)."""
    try:
        with open("/proc/self/uid_map") as f:
            return f.read().split() == ["0", "0", "4294967295"]
    except OSError:
        return False


def enter_root(job):
    """Mechanism ``root``: namespaces entered as real root; cases drop to the leased uid."""
    if os.geteuid() != 0 or job["uid"] is None:
        raise Unavailable("not root")
    if not has_capability(CAP_SYS_ADMIN):
        raise Unavailable("root without CAP_SYS_ADMIN")
    if not initial_user_ns():
        raise Unavailable("root of a user namespace cannot switch to a private uid")
    flags = CLONE_NEWNS | CLONE_NEWIPC | (0 if job["network"] else CLONE_NEWNET)
    if LIBC.unshare(flags) != 0:
        raise Unavailable("unshare: " + _errno_text())
    _mount("none", "/", None, MS_REC | MS_PRIVATE)  # from here on, failures are fatal
    if job["jail"]:
        build_jail(job, 0, job["uid"], jail_sources())
    else:
        os.chown("work", job["uid"], job["uid"])


def _write(path, text):
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def _unshare_self(flags):
    """An ordinary user: unshare, then map our own uid and gid to ``INNER_ID``."""
    if LIBC.unshare(flags) != 0:
        raise Unavailable("unshare(CLONE_NEWUSER): " + _errno_text())
    uid, gid = os.geteuid(), os.getegid()
    _write("/proc/self/setgroups", "deny")
    _write("/proc/self/uid_map", "%d %d 1" % (INNER_ID, uid))
    _write("/proc/self/gid_map", "%d %d 1" % (INNER_ID, gid))


def _unshare_mapped_by_parent(job, flags):
    """Root without CAP_SYS_ADMIN: a forked copy of the harness unshares, and we (root, with
    CAP_SETUID in the host's namespace) map its ``INNER_ID`` to the leased private uid. The
    copy returns as the harness; this process only waits for it and exits with its status.

    The copy is root of nothing until it switches to ``INNER_ID``: as the owner of the
    interpreter's folders it can still bind them into the jail, even under a 0700 /root.
    """
    uid = job["uid"]
    if uid is None or not initial_user_ns():
        raise Unavailable("root that cannot switch to a private uid (a user namespace's root)")
    os.mkdir(JAIL, 0o755)
    for name in ("out", "work", JAIL):
        os.chown(name, uid, uid)
    ready_r, ready_w = os.pipe()
    go_r, go_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(ready_r)
        os.close(go_w)
        LIBC.prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0)
        ok = LIBC.unshare(flags) == 0
        os.write(ready_w, b"ok" if ok else _errno_text().encode())
        if not ok or os.read(go_r, 2) != b"go":
            os._exit(0)
        os.close(ready_w)
        os.close(go_r)
        return
    os.close(ready_w)
    os.close(go_r)
    answer = os.read(ready_r, 200).decode()
    if answer == "ok":
        try:
            _write("/proc/%d/uid_map" % pid, "%d %d 1" % (INNER_ID, uid))
            _write("/proc/%d/gid_map" % pid, "%d %d 1" % (INNER_ID, uid))
            os.write(go_w, b"go")
        except OSError as exc:
            answer = "mapping the private uid failed: %s" % exc
    os.close(go_w)
    if answer != "ok":
        os.waitpid(pid, 0)
        raise Unavailable("unshare(CLONE_NEWUSER): " + answer)
    os._exit(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) & 0xFF)


def enter_userns(job):
    """Mechanism ``userns``: user + mount + network + IPC namespaces, as an unprivileged uid."""
    flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWIPC | (0 if job["network"] else CLONE_NEWNET)
    if os.geteuid() == 0:
        _unshare_mapped_by_parent(job, flags)
    else:
        _unshare_self(flags)
    _mount("none", "/", None, MS_REC | MS_PRIVATE)
    sources = jail_sources()
    folders, _, devices = sources
    handles = {path: os.open(path, os.O_PATH | os.O_CLOEXEC) for path in folders + devices}
    if os.geteuid() != INNER_ID:  # the copy made by root: now become the unprivileged id
        os.setgroups([])
        os.setresgid(INNER_ID, INNER_ID, INNER_ID)
        os.setresuid(INNER_ID, INNER_ID, INNER_ID)  # keeps the namespace's capabilities
    LIBC.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    if job["jail"]:
        build_jail(job, INNER_ID, INNER_ID, sources, handles, proc=False)  # /proc: per case
    for fd in handles.values():
        os.close(fd)


def enter_pid_namespace():
    """The harness of a one-case program: its next child is PID 1 of a new PID namespace
    (that child mounts the jail's /proc in the harness's mount namespace, once)."""
    if LIBC.unshare(CLONE_NEWPID) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWPID) failed")


def enter_case_namespaces():
    """Per case (``userns``): a PID namespace whose PID 1 is the program, and a mount
    namespace for its /proc. Called in the case's relay process before it forks the program."""
    if LIBC.unshare(CLONE_NEWPID | CLONE_NEWNS) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWPID) failed")


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def drop_capabilities():
    """Drop every capability (bounding, ambient, effective, permitted, inheritable).

    Inside its user namespace the harness holds all capabilities; a program must hold none,
    and, with a non-zero uid, cannot regain them by ``exec``.
    """
    for cap in range(64):
        if LIBC.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 and cap <= CAP_SYS_ADMIN:
            raise OSError(ctypes.get_errno(), "dropping capability %d failed" % cap)
    LIBC.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    header, data = _CapHeader(0x20080522, 0), (_CapData * 2)()
    if LIBC.capset(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capset failed")

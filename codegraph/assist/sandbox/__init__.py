"""Run untrusted, LLM-generated code (unit tests) in a throwaway sandbox and report results per test.

:func:`run_in_sandbox` runs one command; :func:`run_tests` runs a language's test runner (pytest, ``node --test``,
minitest) through it and parses per-test results; :func:`enforced_limits` lists what this platform enforces.

Layers, from always-on to best-effort (each run records the ones it actually applied in
:attr:`SandboxRun.enforced`):

* a fresh temporary directory, removed afterwards; the child's ``HOME`` and ``TMPDIR`` point inside it;
* a whitelisted environment (``PATH``, ``LANG``, ``LC_ALL``, ``HOME``, ``TMPDIR``, ``PYTHONPATH`` = the sandbox
  directory, ``PYTHONDONTWRITEBYTECODE=1``, ``PYTHONHASHSEED=0``): no API keys or tokens reach the child;
* stdin is ``/dev/null``; stdout and stderr are captured up to :attr:`SandboxLimits.max_output_bytes` each,
  the rest is read and discarded (``output_truncated``);
* a wall-time limit: the child runs in its own session and process group, which gets ``SIGKILL`` when the
  limit is reached;
* resource limits (``setrlimit(2)``): CPU seconds, memory (``RLIMIT_AS``, or ``RLIMIT_DATA`` for node, see
  :attr:`SandboxLimits.memory_rlimit`), size of any file written, core dumps off, open files, processes;
* Linux namespaces (``unshare(2)``), probed once per process and cached:

  - a PID namespace with a private ``/proc``: the command runs as a child of a small init process, and when
    that init ends (normally or killed at the wall-time limit) the kernel kills every process left in the
    namespace, including ones that called ``setsid()`` to leave the process group; other processes (and their
    ``/proc/PID/environ``) are invisible;
  - a network namespace when :attr:`SandboxLimits.network` is false: only a private loopback interface, so
    neither the internet nor services on the host's ``127.0.0.1`` are reachable;
  - a mount namespace in which every mount is remounted read-only except the sandbox directory (bind-mounted
    onto itself), so the child cannot write anywhere else, whatever the file permissions say; in it the invoking
    user's home directory is covered by an empty read-only tmpfs, so dotfiles holding credentials
    (``~/.config``, ``~/.aws``, ``~/.netrc``, ...) cannot be read; directories of the interpreter that live
    inside it (a pyenv or nvm install, a virtualenv) are bind-mounted back, read-only;

  as root this is ``unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET)``, otherwise the same inside a new user
  namespace mapping only the caller's own uid (like ``unshare --map-current-user``); both are what
  ``unshare --mount --pid --fork --mount-proc --net`` does (util-linux ``unshare(1)``; semantics in the Linux
  man pages ``namespaces(7)``, ``user_namespaces(7)``, ``mount_namespaces(7)``, ``pid_namespaces(7)``);
* as root, the child drops to ``nobody`` (uid/gid 65534, no supplementary groups) with ``PR_SET_NO_NEW_PRIVS``,
  like ``setpriv --reuid=65534 --regid=65534 --clear-groups --no-new-privs`` (util-linux ``setpriv(1)``); the
  sandbox directory is chowned to it. A directory that ``nobody`` cannot traverse but the interpreter needs
  (e.g. a pyenv Python under ``/root``, mode 0700) is covered the same way as the home directory, with the
  needed directories bind-mounted back; without a mount namespace that is impossible and the child stays root
  (recorded in :attr:`SandboxRun.not_enforced`).

The namespace and privilege steps run in a small launcher (this module started with ``python -I -S``) between
``fork`` and ``exec``, using ``ctypes`` for ``unshare(2)``, ``mount(2)`` and ``prctl(2)``: no third-party code
and no setuid helper. When a step is unavailable the run goes ahead without it and says so: see
:func:`enforced_limits` (e.g. on macOS or in containers without user namespaces only the rlimits, the process
group, the environment and the directory apply; the network is then NOT blocked and the child can write
whatever the invoking user can write).

Not enforced anywhere: a total disk quota (only the size of each file is capped), a limit on memory used through
tmpfs files (``/dev/shm`` and ``/tmp`` are read-only in the mount namespace, but without it they are not), CPU
share (no cgroups), and reads of world-readable files outside the home directory (``/etc``, other users'
public files) and, when not root, of the invoking user's own files outside the home directory. This is
containment for buggy or over-eager generated tests, not a boundary against a determined attacker with a kernel
exploit.
"""

from __future__ import annotations

import json
import os
import re
import selectors
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path, PurePosixPath
from typing import Any

from ...errors import SandboxError
from . import launch
from .launch import SETUP_FAILED, LaunchConfig, is_under
from .limits import GIB, MIB, SandboxLimits
from .parsers import (
    parse_minitest,
    parse_node_junit,
    parse_node_tap,
    parse_pytest_junit,
    parse_pytest_verbose,
)
from .results import CaseResult, Language, Outcome, RunReport, SandboxRun

__all__ = [
    "GIB",
    "MIB",
    "RESERVED_NAMES",
    "CaseResult",
    "Language",
    "Outcome",
    "RunReport",
    "SandboxError",
    "SandboxLimits",
    "SandboxRun",
    "describe_enforced",
    "enforced_limits",
    "parse_minitest",
    "parse_node_junit",
    "parse_node_tap",
    "parse_pytest_junit",
    "parse_pytest_verbose",
    "run_in_sandbox",
    "run_tests",
]

NOBODY_UID = 65534
"""The uid and gid a root caller's child runs as (``nobody`` / ``nogroup`` on Debian-like systems)."""

RESERVED_NAMES = frozenset({".sandbox-home", ".sandbox-tmp", ".codegraph-junit.xml"})
"""Top-level names in the sandbox directory used by the sandbox itself; ``files`` may not use them."""

_JUNIT = ".codegraph-junit.xml"
"""Name of the runners' JUnit result file in the sandbox directory."""

_RESULT_CAP = 32 * MIB
"""Largest result file read back from the sandbox (bytes)."""


# --------------------------------------------------------------------------------------------------------------
# Launcher (runs in the child, between fork and exec)
# --------------------------------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------------------------------
# Parent side
# --------------------------------------------------------------------------------------------------------------

_LAUNCHER = str(Path(launch.__file__).resolve())
"""Path of the launcher script, run as ``python -I -S _LAUNCHER CONFIG_JSON``."""

_PLATFORM: dict[bool, tuple[bool, bool]] = {}
"""Probe results, keyed by "network wanted": (namespaces usable, network namespace usable)."""


def _world_traversable(path: str) -> bool:
    """True if every directory from ``/`` down to ``path`` is searchable by "others" (mode bit ``o+x``)."""
    current = Path(path)
    for directory in [current, *current.parents]:
        try:
            if not os.stat(directory).st_mode & stat.S_IXOTH:
                return False
        except OSError:
            return False
    return True


def _masks_for(
    needed: Sequence[str], hide: Sequence[str], for_other_uid: bool
) -> tuple[dict[str, list[str]], list[str]]:
    """Plan the tmpfs masks: ``{directory to cover: [needed directories below it to bind back]}``.

    Each directory in ``hide`` (the invoking user's home) is covered. With ``for_other_uid`` (the child will run
    as ``nobody``), so is the topmost ancestor of a needed directory that "others" cannot traverse. Also returns
    the needed directories no mask can fix (untraversable themselves).
    """
    masks: dict[str, list[str]] = {h: [] for h in hide}
    unfixable: list[str] = []
    for raw in sorted({os.path.realpath(p) for p in needed if p}):
        for h in [h for h in masks if h == raw]:
            del masks[h]  # a needed directory cannot be hidden
        owner = next((h for h in masks if is_under(raw, h)), None)
        if owner is None and for_other_uid and not _world_traversable(raw):
            parents = [d for d in reversed(Path(raw).parents) if d != Path("/")]
            blocked = [d for d in parents if not os.stat(d).st_mode & stat.S_IXOTH]
            if not blocked or not os.stat(raw).st_mode & stat.S_IXOTH:
                unfixable.append(raw)
                continue
            owner = str(blocked[0])
        if owner is not None:
            masks.setdefault(owner, []).append(raw)
    for key in sorted(masks, key=len, reverse=True):  # a mask inside another one: fold it into the outer one
        outer = next((k for k in masks if k != key and is_under(key, k)), None)
        if outer is not None:
            masks[outer] += masks.pop(key)
    for key, paths in masks.items():  # bind each needed tree once
        unique = sorted(set(paths), key=len)
        masks[key] = [p for i, p in enumerate(unique) if not any(is_under(p, q) for q in unique[:i])]
    return masks, unfixable


def _homes() -> list[str]:
    """The invoking user's home directories (``$HOME`` and the passwd entry), the ones worth hiding."""
    import pwd

    homes = {os.environ.get("HOME", "")}
    try:
        homes.add(pwd.getpwuid(os.getuid()).pw_dir)
    except KeyError:
        pass
    return sorted(os.path.realpath(h) for h in homes if h and os.path.isdir(h) and os.path.realpath(h) != "/")


def _tasks_of_uid(uid: int) -> int | None:
    """Number of tasks (threads) currently owned by real uid ``uid``, from ``/proc``; ``None`` without ``/proc``."""
    count = 0
    try:
        entries = os.listdir("/proc")
    except OSError:
        return None
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status", encoding="ascii", errors="replace") as fh:
                text = fh.read()
        except OSError:
            continue
        uid_match = re.search(r"^Uid:\s+(\d+)", text, re.M)
        threads = re.search(r"^Threads:\s+(\d+)", text, re.M)
        if uid_match and int(uid_match.group(1)) == uid:
            count += int(threads.group(1)) if threads else 1
    return count


def _check_relative(name: str) -> PurePosixPath:
    """``name`` as a safe relative path inside the sandbox; raises :class:`SandboxError` otherwise."""
    path = PurePosixPath(name)
    if not name or "\x00" in name or path.is_absolute() or ".." in path.parts or not path.parts:
        raise SandboxError(f"sandbox file name {name!r} must be a relative path without '..'")
    if path.parts[0] in RESERVED_NAMES:
        raise SandboxError(f"sandbox file name {name!r} is reserved by the sandbox; rename the file")
    return path


def _read_capped(path: Path, cap: int) -> str | None:
    """Read a result file the child wrote, refusing symlinks and non-regular files; ``None`` if absent."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return fh.read(cap).decode("utf-8", errors="replace")


def _kill_group(pgid: int) -> None:
    """``SIGKILL`` to process group ``pgid``; a group that is already gone is fine."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _has_exited(pid: int) -> bool:
    """True if the child ``pid`` has ended, without reaping it (so its pid and process group stay reserved)."""
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


def _rmtree(root: Path) -> None:
    """Delete the sandbox, restoring permissions the child may have removed; never raises."""

    def fix(func: Callable[..., Any], path: str, _exc: Any) -> None:
        try:
            os.chmod(os.path.dirname(path), 0o700)
            os.chmod(path, 0o700)
            func(path)
        except OSError:
            pass

    shutil.rmtree(root, onerror=fix)


def _probe(network: bool) -> tuple[bool, bool]:
    """Detect once (cached) whether namespaces work here: (namespaces usable, network namespace usable)."""
    if network in _PLATFORM:
        return _PLATFORM[network]
    result = (False, False)
    if sys.platform.startswith("linux"):
        attempts = [(True, False)] if network else [(True, True), (True, False)]
        for namespaces, netns in attempts:
            run = _run(["/bin/sh", "-c", "exit 0"], {}, SandboxLimits(wall_time_s=20), namespaces, netns)[0]
            if run.returncode == 0:
                result = (namespaces, netns)
                break
    _PLATFORM[network] = result
    return result


def run_in_sandbox(argv: Sequence[str], files: Mapping[str, str], limits: SandboxLimits | None = None) -> SandboxRun:
    """Write ``files`` into a fresh temporary directory and run ``argv`` there under ``limits``.

    Args:
        argv: the command; ``argv[0]`` is looked up on the sandbox's ``PATH`` (the directory of
            ``sys.executable``, then ``/usr/local/bin:/usr/bin:/bin``) unless it is a path.
        files: relative path -> text (UTF-8), written before the run; directories are created.
        limits: see :class:`SandboxLimits`; defaults to ``SandboxLimits()``.

    Returns:
        a :class:`SandboxRun`; a command that fails, crashes or times out is a normal result, not an error.

    Raises:
        SandboxError: a file name is absolute, contains ``..`` or is reserved; ``argv[0]`` is not found; the
            sandbox setup failed in a way its probe did not predict.
    """
    limits = limits or SandboxLimits()
    if not argv:
        raise SandboxError("run_in_sandbox needs a command to run")
    return _sandboxed(argv, files, limits, None)[0]


def _sandboxed(
    argv: Sequence[str], files: Mapping[str, str], limits: SandboxLimits, result_file: str | None
) -> tuple[SandboxRun, str | None, str]:
    """:func:`run_in_sandbox` that also returns ``result_file`` (read before the directory is deleted, ``None``
    if the child did not write it) and the sandbox directory's path as the child saw it."""
    for name in files:
        _check_relative(name)
    namespaces, netns = _probe(limits.network)
    return _run(argv, files, limits, namespaces, netns and not limits.network, result_file)


def _child_path(argv0_dir: str | None) -> str:
    """The child's ``PATH``: the command's directory, the interpreter's, then the system directories."""
    dirs = [argv0_dir, os.path.dirname(sys.executable), "/usr/local/bin", "/usr/bin", "/bin"]
    return os.pathsep.join(dict.fromkeys(d for d in dirs if d))


def _run(
    argv: Sequence[str],
    files: Mapping[str, str],
    limits: SandboxLimits,
    namespaces: bool,
    netns: bool,
    result_file: str | None = None,
) -> tuple[SandboxRun, str | None, str]:
    """Plan (masks, uid, rlimits), prepare the directory, run through the launcher, read ``result_file``, clean up."""
    is_root = os.geteuid() == 0
    exe = argv[0] if os.sep in argv[0] else shutil.which(argv[0], path=_child_path(None))
    if exe is None:
        raise SandboxError(f"{argv[0]} was not found on PATH; install it to run these tests")
    exe = os.path.abspath(exe)
    exe_dir = os.path.dirname(os.path.realpath(exe))
    needed = [os.path.dirname(exe_dir) if os.path.basename(exe_dir) == "bin" else exe_dir]  # its install prefix
    if os.path.basename(os.path.realpath(exe)).startswith("python"):
        needed += [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix]
    base = tempfile.gettempdir()
    if is_root and not _world_traversable(base):
        base = "/tmp"
        if not _world_traversable(base):
            raise SandboxError(
                f"no temporary directory the sandbox user can reach ({tempfile.gettempdir()}); set TMPDIR"
            )
    homes = _homes() if namespaces else []
    kept_homes = [h for h in homes if not is_under(os.path.realpath(base), h)]
    masks, unfixable = _masks_for(needed, kept_homes, for_other_uid=is_root)
    if namespaces:
        drop = is_root and not unfixable
    else:
        drop = is_root and not unfixable and not masks  # without a mount namespace nobody could not run it
        masks = {}
    notes = [f"hidden:{h} (the sandbox directory {base} is inside it)" for h in homes if h not in kept_homes]
    notes += [f"hidden:{h} (the program needs it)" for h in kept_homes if h not in masks]
    if is_root and not drop:
        why = (
            f"nobody cannot reach {', '.join(unfixable)}"
            if unfixable
            else "the program lives below a directory nobody cannot traverse, and no mount namespace can expose it"
        )
        notes.append(f"user_nobody (runs as root: {why})")

    root = Path(tempfile.mkdtemp(prefix="codegraph-sandbox-", dir=base))
    try:
        work = root / "work"
        stage = root / "stage"
        work.mkdir(mode=0o755)
        stage.mkdir(mode=0o700)
        (work / ".sandbox-home").mkdir()
        (work / ".sandbox-tmp").mkdir()
        for name, text in files.items():
            target = work / _check_relative(name)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        if drop:
            os.chmod(root, 0o711)
            for dirpath, dirnames, filenames in os.walk(work):
                os.chown(dirpath, NOBODY_UID, NOBODY_UID)
                for entry in dirnames + filenames:
                    os.chown(os.path.join(dirpath, entry), NOBODY_UID, NOBODY_UID, follow_symlinks=False)
        env = {
            "PATH": _child_path(os.path.dirname(exe)),
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "HOME": str(work / ".sandbox-home"),
            "TMPDIR": str(work / ".sandbox-tmp"),
            "PYTHONPATH": str(work),
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONHASHSEED": "0",
        }
        rlimits: list[tuple[str, int]] = [
            ("RLIMIT_CPU", max(1, int(limits.cpu_time_s))),
            ("RLIMIT_AS" if limits.memory_rlimit == "as" else "RLIMIT_DATA", int(limits.memory_bytes)),
            ("RLIMIT_FSIZE", int(limits.max_file_bytes)),
            ("RLIMIT_CORE", 0),
            ("RLIMIT_NOFILE", int(limits.max_open_files)),
        ]
        in_use = _tasks_of_uid(NOBODY_UID if drop else os.getuid())  # RLIMIT_NPROC counts all of the uid's tasks
        if in_use is None:
            notes.append("rlimit_nproc (no /proc to count the user's processes)")
        elif drop or os.getuid() != 0:
            rlimits.append(("RLIMIT_NPROC", in_use + 2 + int(limits.max_processes)))
        else:
            notes.append("rlimit_nproc (the child runs as root, which the kernel exempts)")
        cfg = LaunchConfig(
            argv=(exe, *argv[1:]),
            env=env,
            work=str(work),
            stage=str(stage),
            namespaces=namespaces,
            netns=netns,
            masks=tuple((ancestor, tuple(paths)) for ancestor, paths in masks.items()),
            drop_to=(NOBODY_UID, NOBODY_UID) if drop else None,
            rlimits=tuple(rlimits),
        )
        run = _supervise(cfg, limits, is_root, notes)
        result = _read_capped(work / result_file, _RESULT_CAP) if result_file else None
        return run, result, str(work)
    finally:
        _rmtree(root)


def _supervise(cfg: LaunchConfig, limits: SandboxLimits, is_root: bool, notes: list[str]) -> SandboxRun:
    """Start the launcher, pump its output under the caps, enforce the wall time, collect the result."""
    report_r, report_w = os.pipe()
    cfg = replace(cfg, report_fd=report_w)
    start = time.monotonic()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-I", "-S", _LAUNCHER, cfg.to_json()],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cfg.work,
            env=cfg.env,
            pass_fds=(report_w,),
            start_new_session=True,
        )
    except BaseException:
        os.close(report_r)
        raise
    finally:
        os.close(report_w)
    assert proc.stdout is not None and proc.stderr is not None
    cap = max(0, int(limits.max_output_bytes))
    buffers: dict[int, bytearray] = {proc.stdout.fileno(): bytearray(), proc.stderr.fileno(): bytearray()}
    report = bytearray()
    truncated = False
    timed_out = False
    sel = selectors.DefaultSelector()
    for fd in (*buffers, report_r):
        sel.register(fd, selectors.EVENT_READ)
    deadline = start + limits.wall_time_s
    exited = False
    try:
        while sel.get_map():
            now = time.monotonic()
            if now >= deadline:
                if exited:
                    break  # the launcher ended but something still holds the pipes (no PID namespace): give up
                timed_out = True
                _kill_group(proc.pid)
                exited = True
                deadline = now + 2.0
            for key, _ in sel.select(min(0.1, max(0.0, deadline - now))):
                fd = int(key.fd)
                data = os.read(fd, 65536)
                if not data:
                    sel.unregister(fd)
                elif fd == report_r:
                    report += data
                else:
                    room = cap - len(buffers[fd])
                    if len(data) > room:
                        truncated = True
                    buffers[fd] += data[: max(0, room)]
            if not exited and _has_exited(proc.pid):
                exited = True
                _kill_group(proc.pid)  # stragglers in the process group (the PID namespace is already gone)
                deadline = time.monotonic() + 1.0
        if not exited:  # pipes closed before the launcher ended
            try:
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                timed_out = True
            _kill_group(proc.pid)
        returncode = proc.wait()
    finally:
        sel.close()
        os.close(report_r)
        proc.stdout.close()
        proc.stderr.close()
        if proc.returncode is None:
            _kill_group(proc.pid)
            proc.wait()
    wall = time.monotonic() - start

    applied: list[str] = []
    missing: list[str] = []
    error: str | None = None
    for line in report.decode("utf-8", errors="replace").splitlines():
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        if "applied" in msg:
            applied, missing = list(msg["applied"]), list(msg["missing"])
        elif "exit" in msg:
            returncode = int(msg["exit"])
        elif "signal" in msg:
            returncode = -int(msg["signal"])
        elif "error" in msg:
            error = str(msg["error"])
    if error is not None or (returncode == SETUP_FAILED and not applied):
        raise SandboxError(f"sandbox setup failed: {error or 'launcher exited early'}")
    if timed_out:
        returncode = -signal.SIGKILL

    enforced = ["tempdir", "env_whitelist", "stdin_devnull", "output_cap", "wall_time", "process_group", *applied]
    if not cfg.namespaces:
        missing.append("namespaces (unshare(2) unavailable here: network not blocked, filesystem writable)")
    elif not cfg.netns and not limits.network:
        missing.append("netns (network namespaces unavailable: network NOT blocked)")
    missing += notes
    if not is_root and "fs_readonly" not in applied:
        missing.append("fs_readonly (the child can write every file the invoking user can write)")
    stdout_b, stderr_b = buffers.values()
    return SandboxRun(
        returncode=returncode,
        stdout=bytes(stdout_b).decode("utf-8", errors="replace"),
        stderr=bytes(stderr_b).decode("utf-8", errors="replace"),
        timed_out=timed_out,
        wall_s=wall,
        killed_by_signal=-returncode if returncode < 0 else None,
        output_truncated=truncated,
        enforced=tuple(enforced),
        not_enforced=tuple(missing),
    )


def _size(n: float) -> str:
    for unit, factor in (("GiB", GIB), ("MiB", MIB), ("KiB", 1024)):
        if n >= factor:
            return f"{n / factor:g} {unit}"
    return f"{n:g} bytes"


def describe_enforced(name: str, limits: SandboxLimits) -> str:
    """A human-readable sentence for one entry of :attr:`SandboxRun.enforced` (the name itself if unknown)."""
    fixed = {
        "tempdir": "fresh temporary directory, deleted afterwards; HOME and TMPDIR inside it",
        "env_whitelist": "environment whitelist (PATH, LANG, LC_ALL, HOME, TMPDIR, PYTHONPATH, "
        "PYTHONDONTWRITEBYTECODE, PYTHONHASHSEED): no API keys or tokens",
        "stdin_devnull": "stdin is /dev/null",
        "output_cap": f"stdout and stderr captured up to {_size(limits.max_output_bytes)} each, the rest discarded",
        "wall_time": f"wall time {limits.wall_time_s:g} s, then SIGKILL to the whole process group",
        "process_group": "own session and process group",
        "userns": "user namespace mapping only the invoking user's uid (for the other namespaces)",
        "pidns": "PID namespace: the whole process tree dies with the run, even processes that left the group",
        "private_proc": "private /proc: other processes and their environments are invisible",
        "netns": "network blocked: empty network namespace with a private loopback only",
        "fs_readonly": "filesystem read-only except the sandbox directory (mount namespace)",
        "user_nobody": f"runs as nobody (uid/gid {NOBODY_UID}, no groups) instead of root",
        "no_new_privs": "no_new_privs: setuid binaries and file capabilities cannot raise privileges",
        "rlimit_cpu": f"CPU time {limits.cpu_time_s} s per process (RLIMIT_CPU)",
        "rlimit_as": f"memory {_size(limits.memory_bytes)} of address space per process (RLIMIT_AS; "
        "node tests get the same size as RLIMIT_DATA)",
        "rlimit_data": f"memory {_size(limits.memory_bytes)} of heap/writable data per process (RLIMIT_DATA)",
        "rlimit_fsize": f"files written up to {_size(limits.max_file_bytes)} each (RLIMIT_FSIZE)",
        "rlimit_core": "no core dumps (RLIMIT_CORE 0)",
        "rlimit_nofile": f"{limits.max_open_files} open files per process (RLIMIT_NOFILE)",
        "rlimit_nproc": f"{limits.max_processes} extra processes/threads (RLIMIT_NPROC)",
    }
    if name.startswith("hidden:"):
        return f"{name[7:]} hidden behind an empty read-only tmpfs (only the interpreter's directories put back)"
    return fixed.get(name, name)


def enforced_limits(limits: SandboxLimits | None = None) -> list[str]:
    """What this platform enforces for a run with ``limits``: one human-readable line per protection, followed by
    ``NOT enforced: ...`` lines for protections unavailable here. Runs a trivial Python command in the sandbox
    (as the pytest runner would; the namespace probe is cached per process).

    Raises:
        SandboxError: the sandbox cannot run at all.
    """
    limits = limits or SandboxLimits()
    run = run_in_sandbox([sys.executable, "-c", ""], {}, limits)
    lines = [describe_enforced(name, limits) for name in run.enforced]
    if limits.network:
        lines.append("network allowed (SandboxLimits.network is true)")
    lines += [f"NOT enforced: {item}" for item in run.not_enforced]
    return lines


# --------------------------------------------------------------------------------------------------------------
# Test runners
# --------------------------------------------------------------------------------------------------------------


def _tail(text: str, lines: int = 15) -> str:
    """The last ``lines`` lines of ``text``, for error messages."""
    return "\n".join(text.strip().splitlines()[-lines:])


def _make_report(
    language: str, tests: Sequence[CaseResult], run: SandboxRun, collection_error: str | None
) -> RunReport:
    """A :class:`RunReport` with the counts computed from ``tests``."""
    return RunReport(
        language=language,
        tests=tuple(tests),
        passed=sum(t.outcome == "passed" for t in tests),
        failed=sum(t.outcome in ("failed", "error") for t in tests),
        skipped=sum(t.outcome == "skipped" for t in tests),
        run=run,
        collection_error=collection_error,
    )


def _killed_reason(run: SandboxRun, limits: SandboxLimits, runner: str) -> str | None:
    """Why the runner produced no complete results if a limit or signal ended it, else ``None``."""
    if run.timed_out:
        return f"{runner} was killed at the wall-time limit ({limits.wall_time_s:g} s); a test probably hangs"
    if run.killed_by_signal is not None:
        try:
            name = signal.Signals(run.killed_by_signal).name
        except ValueError:
            name = f"signal {run.killed_by_signal}"
        return f"{runner} was killed by {name} (CPU time, memory or file size limit, or a crash)"
    return None


_PYTEST_CONFIGS = ("pytest.ini", ".pytest.ini", "pyproject.toml", "tox.ini", "setup.cfg")
"""Top-level files pytest takes its configuration from."""


def _run_python(files: Mapping[str, str], limits: SandboxLimits) -> RunReport:
    """pytest runner of :func:`run_tests`; raises :class:`SandboxError` when pytest is not installed."""
    import importlib.util

    if importlib.util.find_spec("pytest") is None:
        raise SandboxError(f"pytest is not installed for {sys.executable}; install it with: pip install pytest")
    argv = [
        sys.executable,
        "-m",
        "pytest",
        "-v",
        "-p",
        "no:cacheprovider",
        f"--junitxml={_JUNIT}",
        "-o",
        "junit_family=xunit1",
        "-o",
        "junit_logging=all",
        "-o",
        "console_output_style=classic",
        "--continue-on-collection-errors",
        "--rootdir=.",
        "--confcutdir=.",
    ]
    if not any(name in files for name in _PYTEST_CONFIGS):  # else pytest looks for one in /tmp, /, ...
        files = {**files, "pytest.ini": "[pytest]\n"}
    run, junit, _ = _sandboxed(argv, files, limits, _JUNIT)
    tests: list[CaseResult] = []
    errors: list[str] = []
    if junit is not None:
        try:
            tests, errors = parse_pytest_junit(junit)
        except ET.ParseError:
            junit = None
    if junit is None:
        tests = parse_pytest_verbose(run.stdout, run.timed_out)
    problem = _killed_reason(run, limits, "pytest")
    if problem is None:
        rc = run.returncode
        tail = _tail(run.stdout + "\n" + run.stderr)
        if errors:
            problem = "could not collect " + "; ".join(errors)
        elif rc == 5:
            problem = "pytest collected no tests (name files test_*.py or *_test.py and functions test_*)"
        elif rc == 4:
            problem = f"pytest usage error:\n{tail}"
        elif rc == 3:
            problem = f"pytest internal error:\n{tail}"
        elif rc == 2:
            problem = f"pytest was interrupted:\n{tail}"
        elif rc not in (0, 1) or junit is None:
            problem = f"pytest exited with status {rc} without results:\n{tail}"
    return _make_report("python", tests, run, problem)


_NODE_JUNIT: dict[str, bool] = {}


def _node_has_junit(node: str) -> bool:
    """Whether this node's test runner has the junit reporter (Node.js 20 LTS updates, 21+); cached."""
    if node not in _NODE_JUNIT:
        probe = subprocess.run(
            [node, "-e", "process.exit(require('node:test/reporters').junit ? 0 : 1)"],
            capture_output=True,
            timeout=30,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        )
        _NODE_JUNIT[node] = probe.returncode == 0
    return _NODE_JUNIT[node]


def _run_javascript(files: Mapping[str, str], limits: SandboxLimits) -> RunReport:
    """``node --test`` runner of :func:`run_tests`; raises :class:`SandboxError` when node is missing."""
    node = shutil.which("node")
    if node is None:
        raise SandboxError("node is not installed; install Node.js 20 or newer to run generated JavaScript tests")
    if limits.memory_rlimit == "as":
        limits = replace(limits, memory_rlimit="data")  # see SandboxLimits.memory_rlimit
    junit_ok = _node_has_junit(node)
    argv = [node, "--test"]
    if junit_ok:
        argv += ["--test-reporter=junit", f"--test-reporter-destination={_JUNIT}"]
        argv += ["--test-reporter=spec", "--test-reporter-destination=stdout"]
    else:
        argv += ["--test-reporter=tap", "--test-reporter-destination=stdout"]
    run, junit, workdir = _sandboxed(argv, files, limits, _JUNIT if junit_ok else None)
    tests: list[CaseResult] = []
    errors: list[str] = []
    if junit_ok and junit is not None:
        try:
            tests, errors = parse_node_junit(junit, workdir)
        except ET.ParseError:
            junit = None
    elif not junit_ok:
        tests = parse_node_tap(run.stdout)
    problem = _killed_reason(run, limits, "node --test")
    if problem is None:
        detail = next((ln.strip() for ln in run.stdout.splitlines() if re.match(r"^\s*\w*Error\b.*:", ln)), "")
        if errors:
            problem = "; ".join(errors) + (f" ({detail})" if detail else "")
        elif junit_ok and junit is None:
            problem = (
                f"node --test exited with status {run.returncode} without results:\n{_tail(run.stdout + run.stderr)}"
            )
        elif not tests:
            problem = "node --test found no tests (name files *.test.js, *-test.js, test-*.js or put them in test/)"
    return _make_report("javascript", tests, run, problem)


_RUBY_DRIVER = (
    'files = ARGV.dup; ARGV.replace(["-v"]); require "minitest/autorun"; files.each { |f| require File.expand_path(f) }'
)


def _run_ruby(files: Mapping[str, str], limits: SandboxLimits) -> RunReport:
    """minitest runner of :func:`run_tests`; raises :class:`SandboxError` when ruby is missing."""
    ruby = shutil.which("ruby")
    if ruby is None:
        raise SandboxError("ruby is not installed; install Ruby (minitest is bundled) to run generated Ruby tests")
    test_files = sorted(
        name
        for name in files
        if name.endswith(".rb") and (PurePosixPath(name).name.startswith("test_") or name.endswith("_test.rb"))
    )
    argv = [ruby, "-Ilib", "-Itest", "-e", _RUBY_DRIVER, *test_files]
    run = run_in_sandbox(argv, files, limits)
    tests, summary = parse_minitest(run.stdout)
    problem = _killed_reason(run, limits, "ruby")
    if problem is None:
        if not test_files:
            problem = "no Ruby test files (name them test_*.rb or *_test.rb)"
        elif not summary:
            problem = f"ruby could not load the tests:\n{_tail(run.stderr or run.stdout)}"
        elif not tests:
            problem = "minitest found no tests (methods must be named test_* in a Minitest::Test subclass)"
    return _make_report("ruby", tests, run, problem)


def run_tests(language: str, files: Mapping[str, str], limits: SandboxLimits | None = None) -> RunReport:
    """Run the test files in ``files`` with ``language``'s runner inside the sandbox; per-test results.

    Runners: ``python``: ``sys.executable -m pytest`` (JUnit XML, so captured output is per test; falls back to
    the ``-v`` lines when the run is killed); ``javascript``: ``node --test`` with the junit reporter (tap on
    nodes without it), memory limited with ``RLIMIT_DATA``; ``ruby``: minitest via ``ruby -Ilib -Itest``, verbose
    output parsed.

    Args:
        language: ``python``, ``javascript`` (or ``js``) or ``ruby``.
        files: relative path -> text: the tests and the code they import.
        limits: see :class:`SandboxLimits`.

    Raises:
        SandboxError: unknown language, the runner is not installed (message says what to install), or a bad
            file name.
    """
    limits = limits or SandboxLimits()
    runners: dict[str, Callable[[Mapping[str, str], SandboxLimits], RunReport]] = {
        "python": _run_python,
        "javascript": _run_javascript,
        "js": _run_javascript,
        "ruby": _run_ruby,
    }
    if language not in runners:
        raise SandboxError(f"no test runner for {language!r}; use python, javascript or ruby")
    return runners[language](files, limits)

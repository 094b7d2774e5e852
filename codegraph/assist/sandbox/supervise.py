"""Running one command in the sandbox: prepare the temporary directory, start the launcher (``launch.py``) with
the planned config, pump its output under the caps, enforce the wall time, kill what is left, collect the
:class:`~.results.SandboxRun`, delete the directory. Also the one-time namespace probe and the human-readable
list of what is enforced.
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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from ...errors import SandboxError
from . import launch
from .launch import SETUP_FAILED, LaunchConfig
from .limits import GIB, MIB, SandboxLimits
from .plan import NOBODY_UID, SandboxExtras, check_relative, plan_launch, plan_layout
from .results import SandboxRun

_RESULT_CAP = 32 * MIB
"""Largest result file read back from the sandbox (bytes)."""

_LAUNCHER = str(Path(launch.__file__).resolve())
"""Path of the launcher script, run as ``python -I -S _LAUNCHER CONFIG_JSON``."""

_PLATFORM: dict[bool, tuple[bool, bool]] = {}
"""Probe results, keyed by "network wanted": (namespaces usable, network namespace usable)."""


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


def run_in_sandbox(
    argv: Sequence[str],
    files: Mapping[str, str],
    limits: SandboxLimits | None = None,
    extras: SandboxExtras | None = None,
) -> SandboxRun:
    """Write ``files`` into a fresh temporary directory and run ``argv`` there under ``limits``.

    Args:
        argv: the command; ``argv[0]`` is looked up on the sandbox's ``PATH`` (the directory of
            ``sys.executable``, then ``/usr/local/bin:/usr/bin:/bin``) unless it is a path.
        files: relative path -> text (UTF-8), written before the run; directories are created.
        limits: see :class:`SandboxLimits`; defaults to ``SandboxLimits()``.
        extras: what the runner adds: directories to read, ``PATH`` entries, environment variables, links
            (:class:`~.plan.SandboxExtras`).

    Returns:
        a :class:`SandboxRun`; a command that fails, crashes or times out is a normal result, not an error.

    Raises:
        SandboxError: a file name is absolute, contains ``..`` or is reserved; ``argv[0]`` is not found; the
            sandbox setup failed in a way its probe did not predict.
    """
    limits = limits or SandboxLimits()
    if not argv:
        raise SandboxError("run_in_sandbox needs a command to run")
    return sandboxed(argv, files, limits, None, extras)[0]


def sandboxed(
    argv: Sequence[str],
    files: Mapping[str, str],
    limits: SandboxLimits,
    result_file: str | None,
    extras: SandboxExtras | None = None,
) -> tuple[SandboxRun, str | None, str]:
    """:func:`run_in_sandbox` that also returns ``result_file`` (read before the directory is deleted, ``None``
    if the child did not write it) and the sandbox directory's path as the child saw it."""
    for name in files:
        check_relative(name)
    namespaces, netns = _probe(limits.network)
    return _run(argv, files, limits, namespaces, netns and not limits.network, result_file, extras)


def _run(
    argv: Sequence[str],
    files: Mapping[str, str],
    limits: SandboxLimits,
    namespaces: bool,
    netns: bool,
    result_file: str | None = None,
    extras: SandboxExtras | None = None,
) -> tuple[SandboxRun, str | None, str]:
    """Plan (see ``plan.py``), prepare the directory, run through the launcher, read ``result_file``, clean up."""
    is_root = os.geteuid() == 0
    extras = extras or SandboxExtras()
    layout = plan_layout(argv[0], namespaces, is_root, tempfile.gettempdir(), extras)
    root = Path(tempfile.mkdtemp(prefix="codegraph-sandbox-", dir=layout.base))
    try:
        work = root / "work"
        stage = root / "stage"
        work.mkdir(mode=0o755)
        stage.mkdir(mode=0o700)
        (work / ".sandbox-home").mkdir()
        (work / ".sandbox-tmp").mkdir()
        for name, text in files.items():
            target = work / check_relative(name)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        taken = {check_relative(name).parts[0] for name in files}
        for name, link_target in extras.links:
            if check_relative(name).parts[0] not in taken:
                (work / name).parent.mkdir(parents=True, exist_ok=True)
                os.symlink(link_target, work / name)
        if layout.drop:
            os.chmod(root, 0o711)
            for dirpath, dirnames, filenames in os.walk(work):
                os.chown(dirpath, NOBODY_UID, NOBODY_UID)
                for entry in dirnames + filenames:
                    os.chown(os.path.join(dirpath, entry), NOBODY_UID, NOBODY_UID, follow_symlinks=False)
        in_use = _tasks_of_uid(NOBODY_UID if layout.drop else os.getuid())  # for RLIMIT_NPROC, see plan_launch
        cfg, notes = plan_launch(
            layout, argv, limits, str(work), str(stage), namespaces, netns, os.getuid(), in_use, extras
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
        "PYTHONDONTWRITEBYTECODE, PYTHONHASHSEED, and the test runner's own settings): no API keys or tokens",
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

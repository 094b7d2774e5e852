"""The sandbox's launcher: the child-side program that enters the namespaces, sets up the mounts, drops to
``nobody`` and sets the rlimits, then executes the command (the layers are described in the package docstring).

It runs by path, between ``fork`` and ``exec`` of the sandboxed command::

    python -I -S .../codegraph/assist/sandbox/launch.py CONFIG_JSON

and imports the standard library only, nothing of codegraph (not even relatively): with ``-I`` neither the
script's directory, the user's site-packages nor ``PYTHON*`` variables reach ``sys.path``, and ``-S`` leaves out
site-packages, so no third-party or sandboxed code loads in the process that holds the privileges. ``ctypes``
calls ``unshare(2)``, ``mount(2)`` and ``prctl(2)``; there is no setuid helper.

``CONFIG_JSON`` is a :class:`LaunchConfig` (see :meth:`LaunchConfig.to_json`); the parent side plans it
(``plan.py``) and imports the class from here. Protocol: see :func:`launch_main`.
"""

from __future__ import annotations

import errno
import json
import os
import re
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, TypeVar


@dataclass(frozen=True, slots=True)
class LaunchConfig:
    """Everything the launcher needs; crosses the ``exec`` as JSON (:meth:`to_json`, :meth:`from_json`).

    Attributes:
        argv: the command; ``argv[0]`` is an absolute path (the launcher does no ``PATH`` lookup).
        env: the command's whole environment.
        work: the sandbox directory (absolute): the command's working directory and, in a mount namespace, the
            only writable place.
        stage: an empty private directory (absolute) where the bind mounts of the masks' needed directories wait
            while their ancestor is covered.
        namespaces: run in new mount and PID namespaces (in a new user namespace unless root); false: only the
            uid change, ``no_new_privs`` and the rlimits apply.
        netns: also a new network namespace (its loopback brought up); only with ``namespaces``.
        masks: ``(directory to cover with an empty read-only tmpfs, (directories below it to bind back
            read-only, ...))`` pairs, in mount order.
        drop_to: ``(uid, gid)`` to switch to (the launcher runs as root), or ``None`` to keep the caller's ids.
        rlimits: ``(name in the resource module, value)`` pairs, e.g. ``("RLIMIT_CPU", 60)``; soft and hard limit
            both become the value.
        report_fd: the write end of the report pipe, inherited by the launcher; ``-1`` until the supervisor opens
            the pipe just before starting it.
    """

    argv: tuple[str, ...]
    env: dict[str, str]
    work: str
    stage: str
    namespaces: bool
    netns: bool
    masks: tuple[tuple[str, tuple[str, ...]], ...]
    drop_to: tuple[int, int] | None
    rlimits: tuple[tuple[str, int], ...]
    report_fd: int = -1

    def to_json(self) -> str:
        """The config as one JSON object with one key per attribute (tuples become arrays)."""
        return json.dumps(
            {
                "argv": list(self.argv),
                "env": dict(self.env),
                "work": self.work,
                "stage": self.stage,
                "namespaces": self.namespaces,
                "netns": self.netns,
                "masks": [[ancestor, list(paths)] for ancestor, paths in self.masks],
                "drop_to": None if self.drop_to is None else list(self.drop_to),
                "rlimits": [[name, value] for name, value in self.rlimits],
                "report_fd": self.report_fd,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> LaunchConfig:
        """The config that :meth:`to_json` wrote.

        Raises:
            ValueError: not JSON, a missing or unknown key, or a value of the wrong type.
        """
        raw = json.loads(text)
        fields = {"argv", "env", "work", "stage", "namespaces", "netns", "masks", "drop_to", "rlimits", "report_fd"}
        if not isinstance(raw, dict) or set(raw) != fields:
            raise ValueError(f"launch config needs exactly the keys {sorted(fields)}")
        try:
            drop = None if raw["drop_to"] is None else _pair(raw["drop_to"], int, int)
            return cls(
                argv=tuple(_typed(a, str) for a in _typed(raw["argv"], list)),
                env={_typed(k, str): _typed(v, str) for k, v in _typed(raw["env"], dict).items()},
                work=_typed(raw["work"], str),
                stage=_typed(raw["stage"], str),
                namespaces=_typed(raw["namespaces"], bool),
                netns=_typed(raw["netns"], bool),
                masks=tuple(
                    (ancestor, tuple(_typed(p, str) for p in paths))
                    for ancestor, paths in (_pair(m, str, list) for m in _typed(raw["masks"], list))
                ),
                drop_to=drop,
                rlimits=tuple(_pair(r, str, int) for r in _typed(raw["rlimits"], list)),
                report_fd=_typed(raw["report_fd"], int),
            )
        except TypeError as exc:
            raise ValueError(f"malformed launch config: {exc}") from None


_T = TypeVar("_T")
_U = TypeVar("_U")


def _typed(value: object, kind: type[_T]) -> _T:
    """``value`` if it is a ``kind`` (a ``bool`` is no ``int`` here); raises ``TypeError`` otherwise."""
    if isinstance(value, kind) and (kind is bool or not isinstance(value, bool)):
        return value
    raise TypeError(f"expected {kind.__name__}, got {value!r}")


def _pair(value: object, first: type[_T], second: type[_U]) -> tuple[_T, _U]:
    """A two-element JSON array as a typed pair; raises ``TypeError`` otherwise."""
    items = _typed(value, list)
    if len(items) != 2:
        raise TypeError(f"expected a pair, got {value!r}")
    return _typed(items[0], first), _typed(items[1], second)


# Constants from <sched.h>, <sys/mount.h>, <linux/prctl.h>, <linux/sockios.h>, <net/if.h>.
_CLONE_NEWNS = 0x00020000
_CLONE_NEWUSER = 0x10000000
_CLONE_NEWPID = 0x20000000
_CLONE_NEWNET = 0x40000000
_MS_RDONLY = 1
_MS_NOSUID = 2
_MS_NODEV = 4
_MS_NOEXEC = 8
_MS_REMOUNT = 32
_MS_NOATIME = 1024
_MS_NODIRATIME = 2048
_MS_BIND = 4096
_MS_MOVE = 8192
_MS_REC = 16384
_MS_PRIVATE = 1 << 18
_MS_RELATIME = 1 << 21
_MS_STRICTATIME = 1 << 24
_PR_SET_PDEATHSIG = 1
_PR_SET_NO_NEW_PRIVS = 38
_SIOCGIFFLAGS = 0x8913
_SIOCSIFFLAGS = 0x8914
_IFF_UP = 0x1

SETUP_FAILED = 125
"""Exit status of the launcher when sandbox setup failed (details on the report pipe)."""

EXEC_FAILED = 127
"""Exit status when the command could not be executed."""

# Mount options (from /proc/self/mountinfo) that must be repeated in a bind remount: inside a user namespace the
# kernel refuses to clear flags that were locked when the namespace was created (mount_namespaces(7)).
_MOUNT_OPTION_FLAGS = {
    "nosuid": _MS_NOSUID,
    "nodev": _MS_NODEV,
    "noexec": _MS_NOEXEC,
    "noatime": _MS_NOATIME,
    "nodiratime": _MS_NODIRATIME,
    "relatime": _MS_RELATIME,
    "strictatime": _MS_STRICTATIME,
}


class _Libc:
    """The few libc calls the launcher needs, through ``ctypes``; each raises ``OSError`` on failure (``ENOSYS``
    where libc lacks the function, e.g. ``prctl`` off Linux)."""

    def __init__(self) -> None:
        import ctypes

        self._ctypes = ctypes
        self._lib = ctypes.CDLL(None, use_errno=True)

    def _call(self, name: str, argtypes: list[Any], *args: Any) -> None:
        fn = getattr(self._lib, name, None)
        if fn is None:
            raise OSError(errno.ENOSYS, f"{name}: not available on this system")
        fn.argtypes = argtypes
        if int(fn(*args)) != 0:
            err = self._ctypes.get_errno()
            raise OSError(err, f"{name}: {os.strerror(err)}")

    def unshare(self, flags: int) -> None:
        self._call("unshare", [self._ctypes.c_int], flags)

    def mount(self, source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
        c = self._ctypes
        paths = [None if a is None else os.fsencode(a) for a in (source, target, fstype)]
        options = None if data is None else data.encode()
        try:
            self._call("mount", [c.c_char_p] * 3 + [c.c_ulong, c.c_char_p], *paths, flags, options)
        except OSError as exc:
            raise OSError(exc.errno, f"mount {target}: {exc.strerror}") from None

    def prctl(self, option: int, arg: int) -> None:
        c = self._ctypes
        self._call("prctl", [c.c_int] + [c.c_ulong] * 4, option, arg, 0, 0, 0)


def _mountinfo() -> list[tuple[str, set[str]]]:
    """Mount points of the current mount namespace with their per-mount options, parents first."""
    points: list[tuple[str, set[str]]] = []
    with open("/proc/self/mountinfo", encoding="utf-8", errors="surrogateescape") as fh:
        for line in fh:
            fields = line.split()
            if len(fields) < 6:
                continue
            point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[4])
            points.append((point, set(fields[5].split(","))))
    points.sort(key=lambda p: p[0].count("/") if p[0] != "/" else 0)
    return points


def is_under(path: str, root: str) -> bool:
    """True if ``path`` is ``root`` or below it (both absolute, normalized)."""
    return path == root or path.startswith(root.rstrip("/") + "/")


def _loopback_up() -> None:
    """Bring up ``lo`` in the new network namespace (``SIOCSIFFLAGS`` with ``IFF_UP``, see ``netdevice(7)``)."""
    import fcntl
    import socket
    import struct

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        ifreq = struct.pack("16sh22x", b"lo", 0)
        flags = struct.unpack("16sh22x", fcntl.ioctl(sock.fileno(), _SIOCGIFFLAGS, ifreq))[1]
        fcntl.ioctl(sock.fileno(), _SIOCSIFFLAGS, struct.pack("16sh22x", b"lo", flags | _IFF_UP))


def _setup_mounts(cfg: LaunchConfig, libc: _Libc, applied: list[str], missing: list[str]) -> None:
    """Private /proc, everything read-only except the sandbox directory, tmpfs masks (home, untraversable dirs)."""
    libc.mount(None, "/", None, _MS_REC | _MS_PRIVATE)  # nothing below propagates back to the host
    try:
        libc.mount("proc", "/proc", "proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC)
        applied.append("private_proc")
    except OSError as exc:
        missing.append(f"private_proc ({exc.strerror})")
    work = cfg.work
    libc.mount(work, work, None, _MS_BIND | _MS_REC)
    staged: list[tuple[str, str]] = []
    for i, (_, paths) in enumerate(cfg.masks):
        for j, path in enumerate(paths):
            stage = os.path.join(cfg.stage, f"{i}-{j}")
            os.mkdir(stage, 0o700)
            libc.mount(path, stage, None, _MS_BIND | _MS_REC)
            staged.append((stage, path))
    failed: list[str] = []
    for point, options in _mountinfo():
        if is_under(point, work):
            continue
        flags = _MS_REMOUNT | _MS_BIND | _MS_RDONLY
        for option in options:
            flags |= _MOUNT_OPTION_FLAGS.get(option, 0)
        try:
            libc.mount(None, point, None, flags)
        except OSError as exc:
            failed.append(f"{point}: {exc.strerror}")
    if any(f.startswith("/: ") for f in failed):
        missing.append("fs_readonly (remounting / read-only failed)")
    else:
        applied.append("fs_readonly")
        missing.extend(f"fs_readonly ({f})" for f in failed)
    moves = iter(staged)
    for ancestor, paths in cfg.masks:
        libc.mount("tmpfs", ancestor, "tmpfs", _MS_NOSUID | _MS_NODEV, "mode=0755,size=1m")
        for _ in paths:
            stage, path = next(moves)
            rel = Path(path).relative_to(ancestor)
            current = Path(ancestor)
            for part in rel.parts:
                current = current / part
                current.mkdir(mode=0o755, exist_ok=True)
                os.chmod(current, 0o755)
            libc.mount(stage, path, None, _MS_MOVE)
        libc.mount(None, ancestor, None, _MS_REMOUNT | _MS_BIND | _MS_RDONLY | _MS_NOSUID | _MS_NODEV)
        applied.append(f"hidden:{ancestor}")


def _apply_process_limits(cfg: LaunchConfig, libc: _Libc, applied: list[str], missing: list[str]) -> None:
    """Drop to the unprivileged uid (root only), set no_new_privs and the rlimits, in that order."""
    import resource

    if cfg.drop_to is not None:
        uid, gid = cfg.drop_to
        os.setgroups([])
        os.setgid(gid)  # as root, setgid/setuid set the real, effective and saved ids
        os.setuid(uid)
        applied.append("user_nobody")
    try:
        libc.prctl(_PR_SET_NO_NEW_PRIVS, 1)
        applied.append("no_new_privs")
    except OSError as exc:
        missing.append(f"no_new_privs ({exc.strerror})")
    for name, value in cfg.rlimits:
        try:
            resource.setrlimit(getattr(resource, name), (value, value))
            applied.append(name.lower())
        except (OSError, ValueError) as exc:
            missing.append(f"{name.lower()} ({exc})")


def _exec_target(cfg: LaunchConfig, report_fd: int) -> NoReturn:
    """Replace this process with the command; on failure print why and exit with :data:`EXEC_FAILED`."""
    try:
        os.close(report_fd)
        os.chdir(cfg.work)  # again: the old cwd is on the now read-only mount, not on the writable bind mount
        os.execve(cfg.argv[0], cfg.argv, cfg.env)
    except BaseException as exc:  # noqa: B036 - must never return into the launcher's code
        try:
            os.write(2, f"codegraph sandbox: cannot run {cfg.argv[0]}: {exc}\n".encode())
        finally:
            os._exit(EXEC_FAILED)


def _relay_exit(pid: int) -> NoReturn:
    """Wait for ``pid`` and end this process the same way (exit status, or the same signal)."""
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
        os._exit(128 + sig)
    os._exit(os.waitstatus_to_exitcode(status))


def launch_main(config_json: str) -> NoReturn:
    """Entry point of the launcher process (see the module docstring); never returns.

    Protocol: the parent passes a :class:`LaunchConfig` as JSON in ``argv[1]`` and the write end of a pipe as its
    ``report_fd``; the launcher writes JSON lines to it: ``{"applied": [...], "missing": [...]}`` just before the
    command starts, then (namespace mode) ``{"exit": n}`` or ``{"signal": n}`` when it ends, or ``{"error": "..."}``
    if setup failed (exit status :data:`SETUP_FAILED`).
    """
    import resource  # noqa: F401 - imported before the mounts can hide the standard library

    cfg = LaunchConfig.from_json(config_json)
    report_fd = cfg.report_fd

    def say(obj: object) -> None:
        os.write(report_fd, (json.dumps(obj) + "\n").encode())

    applied: list[str] = []
    missing: list[str] = []
    try:
        libc = _Libc()
        if not cfg.namespaces:
            _apply_process_limits(cfg, libc, applied, missing)
            say({"applied": applied, "missing": missing})
            _exec_target(cfg, report_fd)
        flags = _CLONE_NEWNS | _CLONE_NEWPID | (_CLONE_NEWNET if cfg.netns else 0)
        userns = os.geteuid() != 0
        uid, gid = os.getuid(), os.getgid()
        libc.unshare(flags | (_CLONE_NEWUSER if userns else 0))
        if userns:  # map only our own ids (user_namespaces(7): "setgroups" must be denied before gid_map)
            for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
                with open(f"/proc/self/{name}", "w", encoding="ascii") as fh:
                    fh.write(text)
            applied.append("userns")
        init_pid = os.fork()
        if init_pid:
            os.close(report_fd)
            _relay_exit(init_pid)
        # From here on: PID 1 of the new PID namespace.
        applied.append("pidns")
        if cfg.netns:
            applied.append("netns")
            try:
                _loopback_up()
            except OSError as exc:
                missing.append(f"loopback ({exc.strerror}; no network at all)")
        _setup_mounts(cfg, libc, applied, missing)
        _apply_process_limits(cfg, libc, applied, missing)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)  # after the uid change, which clears it
        say({"applied": applied, "missing": missing})
        child = os.fork()
        if child == 0:
            _exec_target(cfg, report_fd)
        while True:  # reap orphans until the command itself ends; leaving PID 1 kills the rest of the namespace
            pid, status = os.wait()
            if pid == child:
                break
        if os.WIFSIGNALED(status):
            say({"signal": os.WTERMSIG(status)})
            os._exit(128 + os.WTERMSIG(status))
        code = os.waitstatus_to_exitcode(status)
        say({"exit": code})
        os._exit(code)
    except BaseException as exc:  # noqa: B036 - the launcher must exit, never return
        try:
            say({"error": f"{type(exc).__name__}: {exc}"})
        finally:
            os._exit(SETUP_FAILED)


if __name__ == "__main__":
    launch_main(sys.argv[1])

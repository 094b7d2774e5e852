"""Planning a sandboxed run, without side effects: where the sandbox directory goes, which directories get masked
and bound back, whether the child drops to ``nobody``, its environment and rlimits; the result is the
:class:`~.launch.LaunchConfig` the launcher carries out.

Only read-only probes happen here (``stat`` of directories, the ``PATH`` lookup of the command, the passwd
entry); what changes the system (the temporary directory, counting the uid's processes in ``/proc``, starting
the launcher) is in ``supervise.py``, which passes the probe results in.
"""

from __future__ import annotations

import os
import shutil
import stat
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ...errors import SandboxError
from .launch import LaunchConfig, is_under
from .limits import SandboxLimits

NOBODY_UID = 65534
"""The uid and gid a root caller's child runs as (``nobody`` / ``nogroup`` on Debian-like systems)."""

JUNIT_FILE = ".codegraph-junit.xml"
"""Name of the runners' JUnit result file in the sandbox directory."""

RESERVED_NAMES = frozenset({".sandbox-home", ".sandbox-tmp", JUNIT_FILE})
"""Top-level names in the sandbox directory used by the sandbox itself; ``files`` may not use them."""

PROTECTED_ENV = frozenset({"HOME", "TMPDIR", "PATH", "PYTHONPATH"})
"""Variables of the child's environment that :attr:`SandboxExtras.env` may not replace."""


@dataclass(frozen=True, slots=True)
class SandboxExtras:
    """What a test runner adds to a sandboxed run (see :class:`~.toolchains.Runner`); nothing by default.

    Attributes:
        read: directories the command must be able to read, e.g. the project's virtualenv or ``node_modules``:
            like the command's own install prefix, they are bound back (read-only) below a masked home directory
            or a directory ``nobody`` cannot traverse.
        path: directories put on the child's ``PATH`` right after the command's own (e.g. where ``node`` is, for
            a ``#!/usr/bin/env node`` tool).
        env: extra environment variables (runner settings such as ``GOPROXY=off``; never secrets); the names in
            :data:`PROTECTED_ENV` are refused.
        links: symbolic links created in the sandbox directory before the run: ``(relative name, absolute
            target)``, e.g. ``("node_modules", "/repo/node_modules")`` so that tests can import the project's
            packages; a name that ``files`` already uses is skipped.
    """

    read: tuple[str, ...] = ()
    path: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    links: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        clash = sorted({name for name, _ in self.env} & PROTECTED_ENV)
        if clash:
            raise SandboxError(f"a runner may not set {', '.join(clash)} in the sandbox")
        for name, target in self.links:
            check_relative(name)
            if not os.path.isabs(target):
                raise SandboxError(f"sandbox link {name!r} must point to an absolute path, not {target!r}")


@dataclass(frozen=True, slots=True)
class Layout:
    """Where and as whom a run happens; decided before anything is created (:func:`plan_layout`).

    Attributes:
        exe: absolute path of the command (``argv[0]``, looked up on the child's ``PATH`` unless it is a path).
        base: the directory to create the sandbox's temporary directory in.
        masks: ``{directory to cover with an empty tmpfs: [needed directories below it to bind back]}``; empty
            without a mount namespace.
        drop: the child switches to ``nobody`` (:data:`NOBODY_UID`); only for a root caller.
        notes: protections that will not apply, each with the reason (for :attr:`SandboxRun.not_enforced`).
    """

    exe: str
    base: str
    masks: dict[str, list[str]]
    drop: bool
    notes: tuple[str, ...]


def check_relative(name: str) -> PurePosixPath:
    """``name`` as a safe relative path inside the sandbox; raises :class:`SandboxError` otherwise."""
    path = PurePosixPath(name)
    if not name or "\x00" in name or path.is_absolute() or ".." in path.parts or not path.parts:
        raise SandboxError(f"sandbox file name {name!r} must be a relative path without '..'")
    if path.parts[0] in RESERVED_NAMES:
        raise SandboxError(f"sandbox file name {name!r} is reserved by the sandbox; rename the file")
    return path


def child_path(argv0_dir: str | None, extra: Sequence[str] = ()) -> str:
    """The child's ``PATH``: the command's directory, ``extra``, the interpreter's, then the system directories."""
    dirs = [argv0_dir, *extra, os.path.dirname(sys.executable), "/usr/local/bin", "/usr/bin", "/bin"]
    return os.pathsep.join(dict.fromkeys(d for d in dirs if d))


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


def masks_for(
    needed: Sequence[str], hide: Sequence[str], for_other_uid: bool
) -> tuple[dict[str, list[str]], list[str]]:
    """Plan the tmpfs masks: ``{directory to cover: [needed directories below it to bind back]}``.

    Each directory in ``hide`` (the invoking user's home) is covered. With ``for_other_uid`` (the child will run
    as ``nobody``), so is the topmost ancestor of a needed directory that "others" cannot traverse, also when it
    is above a hidden home (a home inside a closed directory: that mask then covers the home too). Also returns
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
        elif owner is not None and for_other_uid:  # a hidden home below a directory "others" cannot traverse
            above = [d for d in reversed(Path(owner).parents) if d != Path("/")]
            blocked = [d for d in above if not os.stat(d).st_mode & stat.S_IXOTH]
            if blocked:
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


def user_homes() -> list[str]:
    """The invoking user's home directories (``$HOME`` and the passwd entry), the ones worth hiding."""
    import pwd

    homes = {os.environ.get("HOME", "")}
    try:
        homes.add(pwd.getpwuid(os.getuid()).pw_dir)
    except KeyError:
        pass
    return sorted(os.path.realpath(h) for h in homes if h and os.path.isdir(h) and os.path.realpath(h) != "/")


def plan_layout(
    argv0: str, namespaces: bool, is_root: bool, tempdir: str, extras: SandboxExtras | None = None
) -> Layout:
    """Find the command, the sandbox's base directory, the masks and whether the child drops to ``nobody``.

    The directories the child needs (bound back below a mask) are the command's install prefix, both as given
    (``/repo/.venv`` for ``/repo/.venv/bin/python``) and with symbolic links resolved (the Python the virtualenv
    points to), codegraph's own interpreter's prefixes when the command is a Python, and ``extras.read``.

    Args:
        argv0: the command as given (a name is looked up on :func:`child_path`).
        namespaces: a mount namespace is available (masks need one).
        is_root: the caller's effective uid is 0.
        tempdir: the caller's temporary directory (``tempfile.gettempdir()``).
        extras: the runner's additions (:class:`SandboxExtras`).

    Raises:
        SandboxError: the command is not found; as root, neither ``tempdir`` nor ``/tmp`` is reachable by
            ``nobody``.
    """
    extras = extras or SandboxExtras()
    exe = argv0 if os.sep in argv0 else shutil.which(argv0, path=child_path(None, extras.path))
    if exe is None:
        raise SandboxError(f"{argv0} was not found on PATH; install it to run these tests")
    exe = os.path.abspath(exe)
    needed = [_prefix(os.path.dirname(os.path.realpath(exe))), _prefix(os.path.dirname(exe)), *extras.read]
    if os.path.basename(os.path.realpath(exe)).startswith("python"):
        needed += [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix]
    base = tempdir
    if is_root and not _world_traversable(base):
        base = "/tmp"
        if not _world_traversable(base):
            raise SandboxError(f"no temporary directory the sandbox user can reach ({tempdir}); set TMPDIR")
    all_homes = user_homes() if namespaces else []
    kept_homes = [h for h in all_homes if not is_under(os.path.realpath(base), h)]
    masks, unfixable = masks_for(needed, kept_homes, for_other_uid=is_root)
    if namespaces:
        drop = is_root and not unfixable
    else:
        drop = is_root and not unfixable and not masks  # without a mount namespace nobody could not run it
        masks = {}
    notes = [f"hidden:{h} (the sandbox directory {base} is inside it)" for h in all_homes if h not in kept_homes]
    notes += [f"hidden:{h} (the program needs it)" for h in kept_homes if not any(is_under(h, m) for m in masks)]
    if is_root and not drop:
        why = (
            f"nobody cannot reach {', '.join(unfixable)}"
            if unfixable
            else "the program lives below a directory nobody cannot traverse, and no mount namespace can expose it"
        )
        notes.append(f"user_nobody (runs as root: {why})")
    return Layout(exe=exe, base=base, masks=masks, drop=drop, notes=tuple(notes))


def _prefix(bin_dir: str) -> str:
    """The install prefix of a program in ``bin_dir``: its parent when it is a ``bin`` directory, else itself."""
    return os.path.dirname(bin_dir) if os.path.basename(bin_dir) == "bin" else bin_dir


def plan_launch(
    layout: Layout,
    argv: Sequence[str],
    limits: SandboxLimits,
    work: str,
    stage: str,
    namespaces: bool,
    netns: bool,
    uid: int,
    tasks_in_use: int | None,
    extras: SandboxExtras | None = None,
) -> tuple[LaunchConfig, list[str]]:
    """The launcher's config for a sandbox directory ``work`` (and its private ``stage``), with the notes.

    Args:
        layout: from :func:`plan_layout`.
        argv: the command; ``argv[0]`` is replaced by ``layout.exe``.
        limits: the rlimits' values.
        work: the sandbox directory (absolute).
        stage: an empty directory beside it for the launcher's mounts (absolute).
        namespaces: run in new mount and PID namespaces.
        netns: also a new network namespace.
        uid: the caller's real uid (``RLIMIT_NPROC`` does not bind root).
        tasks_in_use: tasks (threads) the child's uid already runs, or ``None`` when they cannot be counted:
            ``RLIMIT_NPROC`` counts all of a uid's tasks, so the limit is set this far above them.
        extras: the runner's additions: its ``PATH`` directories and environment variables.

    Returns:
        (the config, ``layout.notes`` plus the notes of this step, for :attr:`SandboxRun.not_enforced`).
    """
    notes = list(layout.notes)
    extras = extras or SandboxExtras()
    env = {
        **dict(extras.env),
        "PATH": child_path(os.path.dirname(layout.exe), extras.path),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "HOME": os.path.join(work, ".sandbox-home"),
        "TMPDIR": os.path.join(work, ".sandbox-tmp"),
        "PYTHONPATH": work,
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
    if tasks_in_use is None:
        notes.append("rlimit_nproc (no /proc to count the user's processes)")
    elif layout.drop or uid != 0:
        rlimits.append(("RLIMIT_NPROC", tasks_in_use + 2 + int(limits.max_processes)))
    else:
        notes.append("rlimit_nproc (the child runs as root, which the kernel exempts)")
    config = LaunchConfig(
        argv=(layout.exe, *argv[1:]),
        env=env,
        work=work,
        stage=stage,
        namespaces=namespaces,
        netns=netns,
        masks=tuple((ancestor, tuple(paths)) for ancestor, paths in layout.masks.items()),
        drop_to=(NOBODY_UID, NOBODY_UID) if layout.drop else None,
        rlimits=tuple(rlimits),
    )
    return config, notes

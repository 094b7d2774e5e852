"""Run untrusted, LLM-generated code (unit tests) in a throwaway sandbox and report results per test.

:func:`run_in_sandbox` runs one command; :func:`run_tests` runs a language's test runner (pytest, ``node --test``,
``tsx --test``, minitest, ``go test``) through it and parses per-test results; :func:`find_runner` and
:func:`check_runner` pick the program (the project's own interpreter where it has one) and prove it runs in the
sandbox before anything is generated; :func:`enforced_limits` lists what this platform enforces.

Layers, from always-on to best-effort (each run records the ones it actually applied in
:attr:`SandboxRun.enforced`):

* a fresh temporary directory, removed afterwards; the child's ``HOME`` and ``TMPDIR`` point inside it;
* a whitelisted environment (``PATH``, ``LANG``, ``LC_ALL``, ``HOME``, ``TMPDIR``, ``PYTHONPATH`` = the sandbox
  directory, ``PYTHONDONTWRITEBYTECODE=1``, ``PYTHONHASHSEED=0``, plus the runner's own settings such as ``go
  test``'s ``GOPROXY=off``): no API keys or tokens reach the child;
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
    inside it (a pyenv or nvm install, the project's virtualenv or ``node_modules``) are bind-mounted back,
    read-only;

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

The namespace and privilege steps run in a small launcher (``launch.py``, run by path with ``python -I -S``, which
imports the standard library only) between ``fork`` and ``exec``, using ``ctypes`` for ``unshare(2)``,
``mount(2)`` and ``prctl(2)``: no third-party code and no setuid helper. When a step is unavailable the run goes
ahead without it and says so: see :func:`enforced_limits` (e.g. on macOS or in containers without user
namespaces only the rlimits, the process group, the environment and the directory apply; the network is then NOT
blocked and the child can write whatever the invoking user can write).

Not enforced anywhere: a total disk quota (only the size of each file is capped), a limit on memory used through
tmpfs files (``/dev/shm`` and ``/tmp`` are read-only in the mount namespace, but without it they are not), CPU
share (no cgroups), and reads of world-readable files outside the home directory (``/etc``, other users'
public files) and, when not root, of the invoking user's own files outside the home directory. This is
containment for buggy or over-eager generated tests, not a boundary against a determined attacker with a kernel
exploit.

Modules: ``limits`` (:class:`SandboxLimits`), ``results`` (:class:`SandboxRun`, :class:`CaseResult`,
:class:`RunReport`), ``plan`` (pure planning: masks, uid, environment, rlimits -> ``LaunchConfig``), ``launch``
(the child-side launcher), ``supervise`` (:func:`run_in_sandbox`: run, watch, collect, clean up), ``toolchains``
(:func:`find_runner`, :func:`check_runner`: which program runs the tests), ``runners`` (:func:`run_tests`),
``parsers`` (the runners' output). :class:`SandboxError` is defined in
``codegraph.errors``.
"""

from __future__ import annotations

from ...errors import SandboxError
from .limits import GIB, MIB, SandboxLimits
from .parsers import (
    parse_go_test_json,
    parse_minitest,
    parse_node_junit,
    parse_node_tap,
    parse_pytest_junit,
    parse_pytest_verbose,
)
from .plan import NOBODY_UID, RESERVED_NAMES, SandboxExtras
from .results import CaseResult, Language, Outcome, RunReport, SandboxRun
from .runners import run_tests
from .supervise import describe_enforced, enforced_limits, run_in_sandbox
from .toolchains import Runner, check_runner, find_python, find_runner

__all__ = [
    "GIB",
    "MIB",
    "NOBODY_UID",
    "RESERVED_NAMES",
    "CaseResult",
    "Language",
    "Outcome",
    "RunReport",
    "Runner",
    "SandboxError",
    "SandboxExtras",
    "SandboxLimits",
    "SandboxRun",
    "check_runner",
    "describe_enforced",
    "enforced_limits",
    "find_python",
    "find_runner",
    "parse_go_test_json",
    "parse_minitest",
    "parse_node_junit",
    "parse_node_tap",
    "parse_pytest_junit",
    "parse_pytest_verbose",
    "run_in_sandbox",
    "run_tests",
]

"""Which program runs a language's tests, found and checked before any model call: the project's Python
(``--python`` / the ``python`` setting, ``$VIRTUAL_ENV``, ``.venv`` or ``venv`` in the repository, else
codegraph's own interpreter, which has pytest), ``node`` with the project's ``node_modules``, ``tsx`` or node's
type stripping for TypeScript, ``ruby`` (minitest) and ``go`` (``go test``).

:func:`find_runner` only looks at files (nothing of the project runs outside the sandbox); :func:`check_runner`
runs the runner once *in the sandbox*, so what it proves (the interpreter starts as the sandbox user, pytest
imports, node has the junit reporter) is what the tests will get.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from ...errors import SandboxError
from .limits import GIB, SandboxLimits
from .plan import SandboxExtras
from .results import SandboxRun

VENV_DIRS = (".venv", "venv")
"""Virtualenv directories looked for in the repository root, in this order."""

NODE_STRIP_TYPES = (22, 6)
"""The first Node.js with ``--experimental-strip-types`` (it runs TypeScript without a compiler)."""

GO_ENV = (
    ("GOPROXY", "off"),
    ("GOFLAGS", "-mod=mod"),
    ("GOTOOLCHAIN", "local"),
    ("GOSUMDB", "off"),
    ("GOTELEMETRY", "off"),
    ("CGO_ENABLED", "0"),
    ("GOMAXPROCS", "2"),
)
"""``go test``'s environment in the sandbox: no module downloads (there is no network), no toolchain switch, no
cgo, and few threads per Go process (``RLIMIT_NPROC`` counts threads; the go command and the compiler start one
per core otherwise). ``GOCACHE`` and ``GOPATH`` default to the sandbox's own ``HOME``, so each run builds in a
fresh cache; the user's module cache, when there is one, is readable (:func:`go_module_cache`)."""


def go_module_cache(environ: Mapping[str, str] | None = None) -> str | None:
    """The user's Go module cache, if it exists: ``$GOMODCACHE``, else ``pkg/mod`` in the first ``$GOPATH``
    entry, else ``~/go/pkg/mod`` (what ``go env GOMODCACHE`` says unless a ``go env -w`` file changed it).
    The sandbox reads it (read-only), so tests may import modules the repository has already downloaded."""
    env = os.environ if environ is None else environ
    if env.get("GOMODCACHE"):
        cache = Path(env["GOMODCACHE"])
    elif env.get("GOPATH"):
        cache = Path(env["GOPATH"].split(os.pathsep)[0]) / "pkg" / "mod"
    else:
        cache = Path(env.get("HOME") or Path.home()) / "go" / "pkg" / "mod"
    return str(cache.resolve()) if cache.is_absolute() and cache.is_dir() else None


@dataclass(frozen=True, slots=True)
class Runner:
    """A language's test runner, found by :func:`find_runner` and checked by :func:`check_runner`.

    Attributes:
        language: the language id it runs tests for (``python``, ``javascript``, ``typescript``, ``ruby``, ``go``).
        name: the test runner as shown to the user: ``pytest``, ``node --test``, ``tsx --test``,
            ``node --test (type stripping)``, ``minitest`` or ``go test``.
        argv: the command prefix: ``argv[0]`` is an absolute path (the interpreter or tool), the rest its fixed
            options (``--experimental-strip-types``).
        origin: where it was found, for messages: ``--python``, ``$VIRTUAL_ENV``, ``.venv in the repository``,
            ``codegraph's own interpreter``, ``PATH``, ``node_modules/.bin in the repository``.
        extras: what the sandbox adds for it (directories to read, ``PATH``, environment, links).
        memory_rlimit: how the memory limit is enforced for it (see :attr:`SandboxLimits.memory_rlimit`):
            ``"data"`` for node and go, whose runtimes reserve large address ranges up front.
        version: what the check found: pytest's version (``9.2.0``), node's (``v20.20.2``), minitest's and
            ruby's (``5.15.0 (ruby 3.1.2)``), go's (``go1.19.8``); ``""`` before :func:`check_runner`.
        junit: node-based runners: node's test runner has the junit reporter (found by the check).
    """

    language: str
    name: str
    argv: tuple[str, ...]
    origin: str
    extras: SandboxExtras = field(default_factory=SandboxExtras)
    memory_rlimit: Literal["as", "data"] = "as"
    version: str = ""
    junit: bool = False

    def describe(self) -> str:
        """One line for ``-v``: ``pytest 9.2.0 with /repo/.venv/bin/python (.venv in the repository)``,
        ``tsx --test (node v20.20.2) with /usr/bin/tsx (PATH)``."""
        version = f"(node {self.version})" if self.language in ("javascript", "typescript") else self.version
        what = f"{self.name} {version}" if self.version else self.name
        return f"{what} with {' '.join(self.argv)} ({self.origin})"


def _prefix_of(program: str) -> str:
    """The install prefix of ``program`` (symbolic links resolved): the parent of its ``bin`` directory."""
    folder = os.path.dirname(os.path.realpath(program))
    return os.path.dirname(folder) if os.path.basename(folder) == "bin" else folder


def _node_modules_of(program: str) -> str | None:
    """The ``node_modules`` directory a tool's real file lives in (its dependencies are there too), if any."""
    for parent in Path(os.path.realpath(program)).parents:
        if parent.name == "node_modules":
            return str(parent)
    return None


def _venv_python(venv: Path) -> Path | None:
    """The interpreter of the virtualenv ``venv`` (a directory holding ``pyvenv.cfg``), else ``None``."""
    if not (venv / "pyvenv.cfg").is_file():
        return None
    for name in ("bin/python", "bin/python3", "Scripts/python.exe"):
        if (venv / name).exists():
            return venv / name
    return None


def _venv_home(venv: Path) -> str | None:
    """The ``home`` key of ``venv/pyvenv.cfg``: the ``bin`` directory of the Python the virtualenv was made from."""
    try:
        text = (venv / "pyvenv.cfg").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    match = re.search(r"^\s*home\s*=\s*(.+?)\s*$", text, re.MULTILINE)
    return match.group(1) if match else None


def _python_runner(interpreter: Path, origin: str) -> Runner:
    """pytest with ``interpreter``; the sandbox may read its virtualenv (if any) and the Python it points to."""
    exe = os.path.abspath(interpreter)
    read: list[str] = []
    venv = Path(exe).parent.parent
    if (venv / "pyvenv.cfg").is_file():
        read.append(str(venv))
        home = _venv_home(venv)
        if home and os.path.isabs(home):
            read.append(os.path.dirname(home) if os.path.basename(home) == "bin" else home)
    return Runner("python", "pytest", (exe,), origin, SandboxExtras(read=tuple(read)))


def find_python(root: Path | None = None, python: str | None = None, virtual_env: str | None = None) -> Runner:
    """The Python that runs a project's tests (pytest), first match wins:

    1. ``python``: the ``--python`` flag or the ``python`` setting: an interpreter, a virtualenv directory, or a
       command name looked up on ``PATH``; a relative path is relative to ``root``;
    2. ``virtual_env``: the active virtualenv (``$VIRTUAL_ENV``);
    3. ``.venv/`` then ``venv/`` in ``root`` (a directory holding ``pyvenv.cfg`` with ``bin/python``);
    4. codegraph's own interpreter (``sys.executable``), which has pytest (a dependency of codegraph).

    Raises:
        SandboxError: ``python`` or ``virtual_env`` names no interpreter (the message says how to fix it).
    """
    if python:
        path = Path(python).expanduser()
        if os.sep not in python and not path.exists():
            found = shutil.which(python)
            if found is None:
                raise SandboxError(f"--python {python}: no such command on PATH; give the interpreter's path")
            path = Path(found)
        elif not path.is_absolute() and root is not None:
            path = root / path
        if path.is_dir():
            venv_python = _venv_python(path)
            if venv_python is None:
                raise SandboxError(
                    f"--python {python}: {path} is a directory but not a virtualenv (no pyvenv.cfg with bin/python);"
                    " give the interpreter's path"
                )
            path = venv_python
        if not path.is_file() or not os.access(path, os.X_OK):
            where = "" if str(path) == python else f"{path} is "
            raise SandboxError(
                f"--python {python}: {where}not an executable file; give a Python interpreter or a virtualenv directory"
            )
        return _python_runner(path, "--python")
    if virtual_env:
        venv_python = _venv_python(Path(virtual_env))
        if venv_python is None:
            raise SandboxError(
                f"$VIRTUAL_ENV is {virtual_env}, which is not a virtualenv with bin/python; deactivate it or "
                "choose the interpreter with --python"
            )
        return _python_runner(venv_python, "$VIRTUAL_ENV")
    for name in VENV_DIRS if root is not None else ():
        assert root is not None
        venv_python = _venv_python(root / name)
        if venv_python is not None:
            return _python_runner(venv_python, f"{name} in the repository")
    return Runner("python", "pytest", (sys.executable,), "codegraph's own interpreter")


def _node(language: str) -> str:
    node = shutil.which("node")
    if node is None:
        raise SandboxError(
            f"node is not installed (not on PATH); install Node.js 20 or newer to run generated {language} tests"
        )
    return os.path.abspath(node)


def _project_node_modules(root: Path | None) -> tuple[list[str], tuple[tuple[str, str], ...]]:
    """The repository's ``node_modules``: readable in the sandbox and linked into it (so tests import its
    packages, with ``require`` and ``import`` alike)."""
    if root is None or not (root / "node_modules").is_dir():
        return [], ()
    modules = str((root / "node_modules").resolve())
    return [modules], (("node_modules", modules),)


def find_runner(
    language: str, *, root: Path | None = None, python: str | None = None, virtual_env: str | None = None
) -> Runner:
    """The test runner for ``language`` in the repository at ``root`` (``None``: no project; codegraph's own
    Python, tools on ``PATH``). Only files are looked at; :func:`check_runner` proves it works.

    * ``python``: pytest with :func:`find_python`'s interpreter;
    * ``javascript``: ``node --test`` with ``node`` from ``PATH``; the repository's ``node_modules`` is linked into
      the sandbox;
    * ``typescript``: ``tsx --test`` with ``node_modules/.bin/tsx`` of the repository, else ``tsx`` on ``PATH``,
      else ``node --experimental-strip-types --test`` (Node.js 22.6 or newer; checked by :func:`check_runner`);
    * ``ruby``: minitest with ``ruby`` from ``PATH`` (the gems on ruby's own load path; bundler is not used);
    * ``go``: ``go test -json`` with ``go`` from ``PATH``, offline (:data:`GO_ENV`): the standard library and
      the modules already in the user's module cache (:func:`go_module_cache`, read-only).

    Raises:
        SandboxError: an unknown language, or the runner is not installed (the message says what to install).
    """
    if language in ("python", "py"):
        return find_python(root, python, virtual_env)
    if language in ("javascript", "js"):
        read, links = _project_node_modules(root)
        return Runner(
            "javascript",
            "node --test",
            (_node("JavaScript"),),
            "PATH",
            SandboxExtras(read=tuple(read), links=links),
            "data",
        )
    if language in ("typescript", "ts"):
        read, links = _project_node_modules(root)
        local = root / "node_modules" / ".bin" / "tsx" if root is not None else None
        tsx, origin = (str(local), "node_modules/.bin in the repository") if local and local.exists() else (None, "")
        if tsx is None and (found := shutil.which("tsx")) is not None:
            tsx, origin = found, "PATH"
        node = shutil.which("node")
        if tsx is not None:
            if node is None:
                raise SandboxError(f"{tsx} needs node, which is not on PATH; install Node.js 20 or newer")
            node = os.path.abspath(node)
            read += [_prefix_of(node), *filter(None, [_node_modules_of(tsx)])]
            extras = SandboxExtras(read=tuple(read), path=(os.path.dirname(node),), links=links)
            return Runner("typescript", "tsx --test", (os.path.abspath(tsx),), origin, extras, "data")
        if node is None:
            raise SandboxError(_NO_TYPESCRIPT + " (there is no node on PATH)")
        extras = SandboxExtras(read=tuple(read), links=links)
        argv = (os.path.abspath(node), "--experimental-strip-types")
        return Runner("typescript", "node --test (type stripping)", argv, "PATH", extras, "data")
    if language in ("ruby", "rb"):
        ruby = shutil.which("ruby")
        if ruby is None:
            raise SandboxError("ruby is not installed; install Ruby (minitest is bundled) to run generated Ruby tests")
        return Runner("ruby", "minitest", (os.path.abspath(ruby),), "PATH")
    if language in ("go", "golang"):
        go = shutil.which("go")
        if go is None:
            raise SandboxError(
                "go is not installed (not on PATH); install Go to run generated Go tests (offline: standard library "
                "only, the sandbox has no network for module downloads)"
            )
        cache = go_module_cache()
        extras = (
            SandboxExtras(read=(cache,), env=(*GO_ENV, ("GOMODCACHE", cache))) if cache else SandboxExtras(env=GO_ENV)
        )
        return Runner("go", "go test", (os.path.abspath(go),), "PATH", extras, "data")
    raise SandboxError(f"no test runner for {language!r}; use python, javascript, typescript, ruby or go")


_NO_TYPESCRIPT = (
    "no TypeScript runner: install tsx in the repository (npm install --save-dev tsx) or on PATH "
    "(npm install --global tsx), or use Node.js 22.6 or newer (it runs TypeScript itself)"
)

_NODE_PROBE = "process.stdout.write(process.version + ' ' + (require('node:test/reporters').junit ? 'junit' : 'tap'))"
_PROBES: dict[str, tuple[str, ...]] = {
    "python": ("-c", "import pytest, sys; sys.stdout.write(pytest.__version__)"),
    "javascript": ("-e", _NODE_PROBE),
    "typescript": ("-e", _NODE_PROBE),
    "ruby": ("-e", 'require "minitest"; print "#{Minitest::VERSION} (ruby #{RUBY_VERSION})"'),
    "go": ("env", "GOVERSION"),
}

_CHECKED: dict[Runner, Runner] = {}


def check_runner(runner: Runner, limits: SandboxLimits | None = None) -> Runner:
    """Run ``runner`` once in the sandbox (``import pytest``, node's version and reporters, ``require
    "minitest"``, ``go env GOVERSION``) and return it with :attr:`Runner.version` and :attr:`Runner.junit`
    filled in; cached per runner for the process.

    Raises:
        SandboxError: the runner cannot run in the sandbox or lacks its test framework; the message names the
            interpreter, where it came from, and what to install.
    """
    if runner.version:  # checked already
        return runner
    if runner in _CHECKED:
        return _CHECKED[runner]
    from .supervise import run_in_sandbox

    base = limits or SandboxLimits()
    probe_limits = replace(  # the check proves the runner is there, not that it fits a tight --memory / --timeout
        base,
        wall_time_s=max(base.wall_time_s, 30.0),
        cpu_time_s=max(base.cpu_time_s, 30),
        memory_bytes=max(base.memory_bytes, GIB),
        memory_rlimit=runner.memory_rlimit,
    )
    run = run_in_sandbox([*runner.argv, *_PROBES[runner.language]], {}, probe_limits, runner.extras)
    output = run.stdout.strip()
    if run.returncode != 0 or not output:
        raise SandboxError(_probe_failure(runner, run))
    checked = replace(runner, version=output)
    if runner.language in ("javascript", "typescript"):
        version, _, reporter = output.partition(" ")
        checked = replace(checked, version=version, junit=reporter == "junit")
        if runner.name.startswith("node --test (type"):
            if _node_version(version) < NODE_STRIP_TYPES:
                raise SandboxError(f"{_NO_TYPESCRIPT}; the node on PATH is {version}")
    _CHECKED[runner] = checked
    return checked


def _node_version(text: str) -> tuple[int, int]:
    match = re.match(r"v?(\d+)\.(\d+)", text)
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


def _probe_failure(runner: Runner, run: SandboxRun) -> str:
    """The message for a runner whose sandboxed check failed: what is missing and how to fix it."""
    exe = runner.argv[0]
    tail = "\n".join((run.stderr or run.stdout).strip().splitlines()[-5:])
    said = f"\n{tail}" if tail else ""
    if runner.language == "python":
        if "No module named 'pytest'" in run.stderr or "No module named pytest" in run.stderr:
            return (
                f"pytest is not installed for {exe} ({runner.origin}); install it with: {exe} -m pip install "
                "pytest; or choose another interpreter with --python (or the python setting)"
            )
        return (
            f"the sandbox cannot run {exe} ({runner.origin}), exit status {run.returncode}; choose another "
            f"interpreter with --python (give its real path, not a pyenv/asdf shim){said}"
        )
    if runner.language == "ruby" and "minitest" in run.stderr:
        return f"minitest is not available to {exe}; install it with: gem install minitest{said}"
    if runner.name.startswith("node --test (type") and "bad option" in run.stderr:
        return f"{_NO_TYPESCRIPT}; the node on PATH does not know --experimental-strip-types{said}"
    return f"the sandbox cannot run {runner.name} with {exe} ({runner.origin}), exit status {run.returncode}{said}"

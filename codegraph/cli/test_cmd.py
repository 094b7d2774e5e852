"""``codegraph test``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from .common import IndexDirOption, ProjectOption, StoreOption

_PYTHON_HELP = (
    "Python interpreter, or virtualenv directory, that runs the tests of Python code (relative: to the current "
    "directory). Default: the python setting (CODEGRAPH_PYTHON, config), else the active virtualenv "
    "($VIRTUAL_ENV), else .venv/ or venv/ in the repository root, else codegraph's own interpreter."
)


def test(
    target: Annotated[
        str,
        typer.Argument(
            metavar="TARGET", help="A snippet id (codegraph snippets list) or an indexed symbol: path/to/file.py::name."
        ),
    ],
    fix: Annotated[
        int, typer.Option("--fix", metavar="N", min=0, max=10, help="Rounds of repair when tests fail.")
    ] = 0,
    k: Annotated[int, typer.Option("-k", min=0, max=20, help="Context chunks given with the test request.")] = 3,
    timeout: Annotated[float, typer.Option("--timeout", min=1, help="Wall-time limit of one test run (s).")] = 60,
    memory_mb: Annotated[int, typer.Option("--memory", min=64, help="Memory limit per process (MiB).")] = 1024,
    as_json: Annotated[bool, typer.Option("--json", help="Print the rounds as one JSON object.")] = False,
    verbose: Annotated[
        bool, typer.Option("-v", "--verbose", help="Log API requests, the sandbox limits and the runner to stderr.")
    ] = False,
    directory: IndexDirOption = Path("."),
    python: Annotated[str | None, typer.Option("--python", metavar="PATH", help=_PYTHON_HELP)] = None,
    store_opt: StoreOption = None,
    project: ProjectOption = None,
) -> None:
    """Generate unit tests for a snippet or symbol, run them in a sandbox, report pass/fail per test.

    Runners, each run once in the sandbox before the model is asked (a missing one is an error that names what
    to install, and no request is made): Python: pytest with the project's interpreter: --python, else the
    python setting, else $VIRTUAL_ENV, else .venv/ or venv/ in the repository root, else codegraph's own (pytest
    comes with codegraph). JavaScript: node --test (the repository's node_modules is importable). TypeScript:
    tsx --test (node_modules/.bin/tsx, else tsx on PATH), else node --experimental-strip-types --test (Node.js
    22.6+). Ruby: minitest. Go: go test -json, offline (the standard library and the modules already in your
    module cache).

    The sandbox is a temporary directory and a subprocess with wall-time, CPU, memory, file-size and process
    limits, an environment without secrets, no network and a read-only view of the rest of the system where the
    platform allows (-v lists what is enforced here and which runner was picked). --fix N feeds failures back to
    the model, which repairs the code (a new snippet revision) or the tests, for up to N rounds. Every round is
    stored. Exit status: 0 when the last round passes, 1 otherwise (a missing runner: 1, before any request).

    With a PostgreSQL store (--store / CODEGRAPH_STORE) snippets and symbols are those of the project that covers
    the current directory (or --project NAME), whose files are read from its root on this machine; the runs are
    stored in that project.

    Examples: codegraph test 3 --fix 2; codegraph test src/calc.py::clamp --python ~/envs/calc;
    codegraph test pkg/strings/reverse.go::Reverse -v
    """
    from ..assist.context import retrieve_context
    from ..assist.llm import api_key
    from ..assist.sandbox import MIB, SandboxLimits, check_runner, enforced_limits, find_runner
    from ..assist.testgen import all_passed, report_json, resolve_target, run_test_rounds
    from . import render
    from .common import stdout_json
    from .generate_cmd import open_for_llm, verbose_logging

    verbose_logging(verbose)
    if python is not None and (os.sep in python or Path(python).exists()):
        python = str(Path(python).expanduser().absolute())  # the flag is relative to here, the setting to the root
    store, settings = open_for_llm(directory, store_opt, project, python=python)
    with store:
        root = store.root
        api_key(settings)
        limits = SandboxLimits(wall_time_s=timeout, cpu_time_s=int(timeout) + 1, memory_bytes=memory_mb * MIB)
        if verbose:
            for line in enforced_limits(limits):
                render.err.print(f"sandbox: {line}", highlight=False, markup=False)
        goal = resolve_target(store, target)
        found = find_runner(
            goal.language, root=root, python=settings.python, virtual_env=os.environ.get("VIRTUAL_ENV") or None
        )
        runner = check_runner(found, limits)  # before any model call: a missing runner costs no request
        if verbose:
            render.err.print(f"runner: {runner.describe()}", highlight=False, markup=False)
        hits = retrieve_context(store, goal.code[:2000], language=goal.language, k=k, settings=settings)
        rounds = run_test_rounds(
            store,
            goal,
            settings=settings,
            hits=hits,
            fix_rounds=fix,
            limits=limits,
            on_round=None if as_json else render.test_round,
            runner=runner,
        )
    ok = all_passed(rounds[-1].report)
    if as_json:
        stdout_json(report_json(target, goal.language, runner, rounds))
    if not ok:
        raise typer.Exit(1)

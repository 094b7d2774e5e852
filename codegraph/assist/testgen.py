"""``codegraph test``: generate unit tests for a snippet or an indexed symbol, run them in the sandbox, and
optionally feed failures back to the model (``--fix N``) to repair the code or the tests.

Every round is stored in ``test_runs``; a code repair of a snippet becomes a new snippet revision (origin
``fix``) linked to the one it repairs. The repository itself is never modified: an indexed symbol's file is
copied into the sandbox, and a repair of it lives in the stored revision only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from ..config import Settings
from ..errors import TargetError
from ..languages import ASSIST_LANGUAGES
from ..store import IndexStore
from ..store.snippets import TestRunDraft
from ..types import Hit, Snippet
from . import prompts
from .llm import complete
from .sandbox import Runner, RunReport, SandboxLimits, run_tests
from .snippets import context_of, get_snippet, store_answer

TEST_FILES = {
    "python": "test_snippet.py",
    "javascript": "snippet.test.js",
    "typescript": "snippet.test.ts",
    "ruby": "test_snippet.rb",
    "go": "codegraph_snippet/snippet_test.go",
}
"""Name of the generated test file for a snippet, per language of :data:`~codegraph.languages.ASSIST_LANGUAGES`
(an indexed Go symbol's tests go next to its file instead: ``<dir>/<file>_codegraph_test.go``)."""

SNIPPET_FILES = {
    "python": "snippet.py",
    "javascript": "snippet.js",
    "typescript": "snippet.ts",
    "ruby": "snippet.rb",
    "go": "codegraph_snippet/snippet.go",
}
"""Name the snippet's code is saved under in the sandbox, per language (Go: a package directory of its own, so it
cannot clash with a package of the repository's root, whose ``go.mod`` comes along)."""

GO_MODULE_FILES = ("go.mod", "go.sum")
"""Files of the repository root that travel with its Go code (the module path and its requirements)."""

MAX_REPO_BYTES = 16 * 1024 * 1024
"""Most bytes of the repository's own source copied into the sandbox so the code under test can import it;
above it only the files the code lives next to are copied."""

MAX_REPORT_CHARS = 6000
"""Longest test report given back to the model in a fix round (characters; the rest is cut)."""


@dataclass
class Target:
    """What is tested.

    Attributes:
        label: the target as the user gave it.
        language: an :data:`~codegraph.languages.ASSIST_LANGUAGES` id.
        code: the code under test (the snippet, or the symbol's definition).
        module: file name the code lives in inside the sandbox (POSIX, relative).
        import_hint: how the tests import it (told to the model).
        files: every file put in the sandbox besides the tests (module included).
        snippet_id: the snippet under test, ``None`` for an indexed symbol.
        span: for a symbol, its 1-based inclusive lines in ``module`` (a code repair replaces them).
        test_file: where the generated tests are saved (relative); ``""``: :data:`TEST_FILES` of the language.
    """

    label: str
    language: str
    code: str
    module: str
    import_hint: str
    files: dict[str, str] = field(default_factory=dict)
    snippet_id: int | None = None
    span: tuple[int, int] | None = None
    test_file: str = ""


@dataclass(frozen=True, slots=True)
class Round:
    """One stored test run.

    Attributes:
        run_id: row id in ``test_runs``.
        round: 0 for the first run, then 1.. for ``--fix`` rounds.
        report: the sandbox's per-test report.
        tests: the test file that ran.
        fixed: what the fix before this round changed: ``""`` (first round), ``"code"`` or ``"tests"``.
        snippet_id: the snippet revision under test in this round, if any.
        explanation: the model's explanation of the fix before this round (``""`` for round 0).
    """

    run_id: int
    round: int
    report: RunReport
    tests: str
    fixed: str
    snippet_id: int | None
    explanation: str


def _go_package(code: str) -> str:
    """The package clause's name of Go code (``snippet`` when it has none)."""
    match = re.search(r"^package\s+(\w+)", code, re.MULTILINE)
    return match.group(1) if match else "snippet"


def _hint(language: str, module: str, names: Sequence[str], *, test_file: str = "", package: str = "") -> str:
    """How the tests reach the code under test, told to the model."""
    path = PurePosixPath(module)
    shown = ", ".join(names) if names else "..."
    if language == "python":
        dotted = ".".join(path.with_suffix("").parts)
        return f"import it with `from {dotted} import {shown}` (the test runs from the sandbox root)."
    if language == "javascript":
        return f"load it with `const m = require('./{path.as_posix()}')` (CommonJS; the test file is at the root)."
    if language == "typescript":
        return (
            f"import it with `import {{ {shown} }} from './{path.as_posix()}'` (ES modules, the `.ts` extension "
            "included; only exported names can be imported; the test file is at the root)."
        )
    if language == "go":
        return (
            f"the test file is saved beside it as `{test_file}`, in the same package (`package {package}`), so it "
            f"calls {shown} directly, without importing it."
        )
    return f"load it with `require_relative '{path.with_suffix('').as_posix()}'` (the test file is at the root)."


def resolve_target(store: IndexStore, target: str) -> Target:
    """A stored snippet id (``12``) or an indexed symbol (``path/to/file.py::name`` or ``::Class.method``).

    Raises:
        TargetError: malformed target, unknown symbol, or a language ``test`` does not support.
        SnippetNotFoundError: no such snippet id.
    """
    if target.isdigit():
        snippet = get_snippet(store, int(target))
        if snippet.language not in ASSIST_LANGUAGES:
            raise TargetError(f"snippet {target} is {snippet.language}; codegraph test supports {_supported()}")
        module = SNIPPET_FILES[snippet.language]
        names = _top_level_names(snippet.code, snippet.language)
        test_file = TEST_FILES[snippet.language]
        hint = _hint(snippet.language, module, names, test_file=test_file, package=_go_package(snippet.code))
        return Target(
            label=target,
            language=snippet.language,
            code=snippet.code,
            module=module,
            import_hint=hint + " The repository's own modules are importable as in the repository.",
            files={**repository_files(store, snippet.language), module: snippet.code},
            snippet_id=snippet.id,
            test_file=test_file,
        )
    path, sep, name = target.partition("::")
    if not sep or not path or not name:
        raise TargetError(f"{target!r}: give a snippet id (see: codegraph snippets list) or path::name")
    found = store.find_definition(path, name)
    if found is None:
        raise TargetError(f"no definition {name!r} in {path} in the index (is the index fresh? codegraph index)")
    start, end, language = found
    if language not in ASSIST_LANGUAGES:
        raise TargetError(f"{path}: codegraph test supports {_supported()}, not {language}")
    source_file = store.root / path
    try:
        text = source_file.read_text(encoding="utf-8")
    except OSError as exc:
        raise TargetError(f"{path}: cannot read ({exc.strerror})") from None
    lines = text.splitlines()
    files = {**repository_files(store, language, near=path), path: text}
    test_file = TEST_FILES[language]
    if language == "go":  # same directory and package as the code: Go tests live there
        source = PurePosixPath(path)
        test_file = source.with_name(f"{source.stem}_codegraph_test.go").as_posix()
    names = [name.rsplit(".", 1)[0]]
    return Target(
        label=target,
        language=language,
        code="\n".join(lines[start - 1 : end]) + "\n",
        module=path,
        import_hint=_hint(language, path, names, test_file=test_file, package=_go_package(text)),
        files=files,
        span=(start, end),
        test_file=test_file,
    )


def _supported() -> str:
    return ", ".join(ASSIST_LANGUAGES)


def repository_files(store: IndexStore, language: str, *, near: str | None = None) -> dict[str, str]:
    """The repository's indexed ``language`` files (read from the working tree), so that code under test can
    import the repository's own modules in the sandbox. Above :data:`MAX_REPO_BYTES` only the files in
    ``near``'s directory and, for Python, the ``__init__.py`` files above it are taken. Unreadable files are
    left out (the tests then report the import error). Go: the repository's own ``*_test.go`` files stay out
    (``go test`` would run them with the generated ones) and :data:`GO_MODULE_FILES` come along."""
    rows = store.indexed_files(language)
    if language == "go":
        rows = [(path, size) for path, size in rows if not path.endswith("_test.go")]
    paths = [path for path, _size in rows]
    if sum(size for _path, size in rows) > MAX_REPO_BYTES:
        folder = PurePosixPath(near).parent if near else PurePosixPath(".")
        keep = {p for p in paths if PurePosixPath(p).parent == folder}
        keep |= {(parent / "__init__.py").as_posix() for parent in folder.parents} | {
            (folder / "__init__.py").as_posix()
        }
        paths = [p for p in paths if p in keep]
    if language == "go":
        paths += [name for name in GO_MODULE_FILES if (store.root / name).is_file()]
    files = {}
    for rel in paths:
        try:
            files[rel] = (store.root / rel).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
    return files


_NAMES = {
    "python": r"^(?:async\s+)?(?:def|class)\s+([A-Za-z_]\w*)",
    "javascript": r"^(?:export\s+)?(?:async\s+)?(?:function\*?|class|const|let)\s+([A-Za-z_$][\w$]*)",
    "typescript": r"^export\s+(?:default\s+)?(?:declare\s+)?(?:abstract\s+)?(?:async\s+)?"
    r"(?:function\*?|class|const|let|enum)\s+([A-Za-z_$][\w$]*)",
    "ruby": r"^(?:def|class|module)\s+(?:self\.)?([A-Za-z_]\w*[?!]?)",
    "go": r"^(?:func|type)\s+([A-Za-z_]\w*)",
}
"""A definition at the top of a file, per language (TypeScript: exported ones; Go: functions and types, not methods)."""


def _top_level_names(code: str, language: str) -> list[str]:
    pattern = _NAMES[language]
    return [m.group(1) for m in re.finditer(pattern, code, re.MULTILINE) if not m.group(1).startswith("_")][:8]


def all_passed(report: RunReport) -> bool:
    """The verdict of a run: at least one test ran, none failed or errored, and the runner reported no error."""
    return report.failed == 0 and report.passed > 0 and not report.collection_error


def round_json(done: Round) -> dict[str, Any]:
    """One round as ``codegraph test --json`` prints it: ``{"run_id", "round", "fixed", "snippet_id",
    "explanation", "passed", "failed", "skipped", "collection_error", "tests": [{"name", "outcome", "message",
    "output"}], "test_file", "sandbox": {"returncode", "timed_out", "wall_s", "enforced", "not_enforced"}}``
    (``passed``/``failed``/``skipped`` are test counts, ``wall_s`` seconds)."""
    report = done.report
    return {
        "run_id": done.run_id,
        "round": done.round,
        "fixed": done.fixed,
        "snippet_id": done.snippet_id,
        "explanation": done.explanation,
        "passed": report.passed,
        "failed": report.failed,
        "skipped": report.skipped,
        "collection_error": report.collection_error,
        "tests": [
            {"name": c.name, "outcome": c.outcome, "message": c.message, "output": c.output} for c in report.tests
        ],
        "test_file": done.tests,
        "sandbox": {
            "returncode": report.run.returncode,
            "timed_out": report.run.timed_out,
            "wall_s": round(report.run.wall_s, 3),
            "enforced": list(report.run.enforced),
            "not_enforced": list(report.run.not_enforced),
        },
    }


def report_json(target: str, language: str, runner: Runner, rounds: Sequence[Round]) -> dict[str, Any]:
    """The whole run as ``codegraph test --json`` prints it: ``{"target", "language", "runner": {"name",
    "version", "command", "origin"}, "passed", "rounds": [round_json, ...]}``; ``passed`` is the last round's
    verdict (:func:`all_passed`)."""
    return {
        "target": target,
        "language": language,
        "runner": {
            "name": runner.name,
            "version": runner.version,
            "command": list(runner.argv),
            "origin": runner.origin,
        },
        "passed": bool(rounds) and all_passed(rounds[-1].report),
        "rounds": [round_json(r) for r in rounds],
    }


def failure_report(report: RunReport) -> str:
    """The failing part of a report as plain text for the model (capped at :data:`MAX_REPORT_CHARS`)."""
    parts = []
    if report.collection_error:
        parts.append(f"runner error: {report.collection_error}")
    for case in report.tests:
        if case.outcome in ("failed", "error"):
            parts.append(f"{case.outcome.upper()}: {case.name}\n{case.message}\n{case.output}".rstrip())
    if not parts:
        parts.append(report.run.stdout[-2000:] + report.run.stderr[-2000:])
    text = "\n\n".join(parts)
    return text if len(text) <= MAX_REPORT_CHARS else text[:MAX_REPORT_CHARS] + "\n[... cut]"


def _store_round(
    store: IndexStore, target: Target, round_no: int, tests: str, report: RunReport, model: str, usage: tuple[int, int]
) -> int:
    results = [{"name": c.name, "outcome": c.outcome, "message": c.message, "output": c.output} for c in report.tests]
    sandbox = {
        "returncode": report.run.returncode,
        "timed_out": report.run.timed_out,
        "wall_s": round(report.run.wall_s, 3),
        "enforced": list(report.run.enforced),
        "not_enforced": list(report.run.not_enforced),
        "collection_error": report.collection_error,
    }
    return store.insert_test_run(
        TestRunDraft(
            snippet_id=target.snippet_id,
            target=target.label,
            round_no=round_no,
            language=target.language,
            code=target.code,
            tests=tests,
            passed=report.passed,
            failed=report.failed,
            results=results,
            sandbox=sandbox,
            model=model,
            prompt_tokens=usage[0],
            completion_tokens=usage[1],
        )
    )


def _with_code(target: Target, code: str) -> dict[str, str]:
    files = dict(target.files)
    if target.span is None:
        files[target.module] = code
    else:  # replace the definition's lines in the copied file
        lines = files[target.module].splitlines()
        start, end = target.span
        files[target.module] = "\n".join([*lines[: start - 1], code.rstrip("\n"), *lines[end:]]) + "\n"
    return files


def run_test_rounds(
    store: IndexStore,
    target: Target,
    *,
    settings: Settings,
    hits: Sequence[Hit],
    fix_rounds: int = 0,
    limits: SandboxLimits | None = None,
    on_round: Callable[[Round], None] | None = None,
    runner: Runner | None = None,
) -> list[Round]:
    """Generate tests for ``target``, run them in the sandbox, and repair up to ``fix_rounds`` times.

    Args:
        store: where runs and revisions are stored.
        target: from :func:`resolve_target`.
        settings: LLM settings.
        hits: context chunks given with the test request (conventions, helpers).
        fix_rounds: ``--fix N``: rounds of "failures -> model repairs code or tests -> run again".
        limits: sandbox limits.
        on_round: called after each stored round (for progress output).
        runner: the test runner (:func:`~codegraph.assist.sandbox.find_runner`); check it with
            :func:`~codegraph.assist.sandbox.check_runner` *before* calling this, so that a missing runner fails
            before the model is asked; default: codegraph's own Python and the tools on ``PATH``.

    Returns:
        The rounds, first to last; the last one's report is the verdict.

    Raises:
        LLMError, OutputError: the API call failed or an answer was malformed (the rounds so far are stored).
        SandboxError: the language's test runner is missing (after the first model call, unless ``runner`` was
            checked beforehand).
    """
    test_file = target.test_file or TEST_FILES[target.language]
    asked = complete(
        prompts.tests_messages(
            target.code, target.language, module=target.module, import_hint=target.import_hint, hits=hits
        ),
        settings,
    )
    tests = prompts.parse_answer(asked.text, target.language).code
    usage = (asked.prompt_tokens, asked.completion_tokens)
    model = asked.model
    code = target.code
    fixed, explanation = "", ""
    rounds: list[Round] = []
    for round_no in range(fix_rounds + 1):
        files = {**_with_code(target, code), test_file: tests}
        report = run_tests(target.language, files, limits, runner, tests=[test_file])
        run_id = _store_round(store, target, round_no, tests, report, model, usage)
        done = Round(run_id, round_no, report, tests, fixed, target.snippet_id, explanation)
        rounds.append(done)
        if on_round is not None:
            on_round(done)
        if all_passed(report) or round_no == fix_rounds:
            break
        answer_text = complete(
            prompts.fix_messages(code, tests, failure_report(report), target.language, module=target.module),
            settings,
        )
        fixed, answer = prompts.parse_fix(answer_text.text, target.language)
        usage = (answer_text.prompt_tokens, answer_text.completion_tokens)
        model, explanation = answer_text.model, answer.explanation
        if fixed == "tests":
            tests = answer.code
        else:
            code = answer.code
            revision = _store_fix(store, target, answer, answer_text.model, usage, hits)
            target.snippet_id = revision.id
            target.label = str(revision.id)
    return rounds


def _store_fix(
    store: IndexStore, target: Target, answer: prompts.Answer, model: str, usage: tuple[int, int], hits: Sequence[Hit]
) -> Snippet:
    parent = get_snippet(store, target.snippet_id) if target.snippet_id is not None else None
    return store_answer(
        store,
        answer,
        origin="fix",
        language=target.language,
        prompt=f"make the failing tests of {target.label} pass",
        model=model,
        usage=usage,
        context=context_of(hits) if parent is None else parent.context,
        parent=parent,
        default_title=f"fix of {target.label}",
    )

"""Per-test results from the test runners' output: pytest (JUnit XML, ``-v`` lines), ``node --test`` (junit,
tap), minitest (``-v``) and ``go test -json``. Pure functions of text; no processes, no files."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

from .results import CaseResult, Outcome


def _one_line(text: str | None, limit: int = 300) -> str:
    """The first line of ``text``, at most ``limit`` characters."""
    first = (text or "").strip().splitlines()
    line = first[0] if first else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


_PYTEST_SECTION = re.compile(r"^-+ Captured \w+ -+$", re.M)
"""pytest's section headers inside the JUnit ``system-out``/``system-err`` text."""


def _collection_message(text: str) -> str:
    """``SyntaxError: invalid syntax (line 1)`` from the ``E   ...`` lines of a pytest collection error."""
    lines = [ln[1:].strip() for ln in text.splitlines() if ln.startswith("E ")]
    lines = [ln for ln in lines if ln]
    if not lines:
        return _one_line(text)
    where = next((m.group(1) for ln in lines if (m := re.search(r"\bline (\d+)", ln))), None)
    return lines[-1] + (f" (line {where})" if where else "")


def parse_pytest_junit(xml_text: str) -> tuple[list[CaseResult], list[str]]:
    """Per-test results and collection errors from pytest's ``--junitxml`` (``junit_family=xunit1``).

    Returns:
        (tests, collection errors as ``"file: message"``).

    Raises:
        xml.etree.ElementTree.ParseError: malformed XML.
    """
    tests: list[CaseResult] = []
    errors: list[str] = []
    for case in ET.fromstring(xml_text).iter("testcase"):
        file = case.get("file") or ""
        classname = case.get("classname") or ""
        name = case.get("name") or "?"
        module = file[:-3].replace("/", ".") if file.endswith(".py") else ""
        cls = classname[len(module) + 1 :] if module and classname.startswith(module + ".") else ""
        if file:
            test_id = "::".join(p for p in (file, cls, name) if p)
        else:
            test_id = f"{classname}.{name}" if classname else name
        details: list[str] = []
        outcome: Outcome = "passed"
        message = ""
        for child in case:
            text = (child.text or "").strip()
            if child.tag in ("failure", "error", "skipped"):
                if child.tag == "error" and child.get("message") == "collection failure":
                    errors.append(f"{file or classname or name}: {_collection_message(text)}")
                    break
                outcome = {"failure": "failed", "error": "error", "skipped": "skipped"}[child.tag]  # type: ignore[assignment]
                message = _one_line(child.get("message")) or _one_line(text)
                if text:
                    details.append(text)
            elif child.tag in ("system-out", "system-err"):
                captured = _PYTEST_SECTION.sub("", text).strip()
                if captured:
                    details.append(f"--- captured std{child.tag[7:]} ---\n{captured}")
        else:
            tests.append(CaseResult(test_id, outcome, message, "\n".join(details)))
    return tests, errors


_PYTEST_VERBOSE = re.compile(r"^(\S+::\S.*?) (PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS)\b")


def parse_pytest_verbose(stdout: str, timed_out: bool) -> list[CaseResult]:
    """Per-test outcomes from ``pytest -v`` output, used when no JUnit file was written (the run was killed).

    A final test id without an outcome is the test that was running when the run was killed: it is reported as
    an ``error`` with message ``"killed at the wall-time limit"`` (or ``"killed"``).
    """
    tests: list[CaseResult] = []
    outcome_map: dict[str, Outcome] = {
        "PASSED": "passed",
        "FAILED": "failed",
        "ERROR": "error",
        "SKIPPED": "skipped",
        "XFAIL": "skipped",
        "XPASS": "passed",
    }
    last_started = ""
    for line in stdout.splitlines():
        match = _PYTEST_VERBOSE.match(line)
        if match:
            tests.append(CaseResult(match.group(1), outcome_map[match.group(2)]))
            last_started = ""
        elif "::" in line and not line.startswith(" ") and line.split(" ", 1)[0].count("::"):
            last_started = line.split(" ", 1)[0]
    if last_started and all(t.name != last_started for t in tests):
        why = "killed at the wall-time limit" if timed_out else "killed"
        tests.append(CaseResult(last_started, "error", why))
    return tests


def parse_node_junit(xml_text: str, workdir: str) -> tuple[list[CaseResult], list[str]]:
    """Per-test results from ``node --test --test-reporter=junit``; nested ``describe`` suites become
    ``suite > test``. A test case named after a test file is node's record of a file that failed to load or exit
    cleanly: it is returned as a file error (``"file: message"``), not as a test.

    Raises:
        xml.etree.ElementTree.ParseError: malformed XML.
    """
    tests: list[CaseResult] = []
    errors: list[str] = []
    prefix = workdir.rstrip("/") + "/"

    def walk(element: ET.Element, path: list[str]) -> None:
        for child in element:
            if child.tag == "testsuite":
                walk(child, [*path, child.get("name") or "?"])
            elif child.tag == "testcase":
                name = child.get("name") or "?"
                failure = child.find("failure")
                skipped = child.find("skipped")
                if name.startswith(prefix) or name.startswith("/"):
                    if failure is not None:
                        errors.append(f"{name.removeprefix(prefix)}: {failure.get('message') or 'failed'}")
                    continue
                full = " > ".join([*path, name])
                if failure is not None:
                    kind = failure.get("type") or ""
                    outcome: Outcome = "failed" if kind in ("testCodeFailure", "") else "error"
                    text = (failure.text or "").strip()
                    tests.append(CaseResult(full, outcome, _one_line(failure.get("message")), text))
                elif skipped is not None:
                    tests.append(CaseResult(full, "skipped", _one_line(skipped.get("message"))))
                else:
                    tests.append(CaseResult(full, "passed"))

    walk(ET.fromstring(xml_text), [])
    return tests, errors


def parse_node_tap(tap: str) -> list[CaseResult]:
    """Per-test results from node's ``tap`` reporter (fallback for a node without the junit reporter).

    Subtests are named ``parent > child``; a result whose YAML block says ``type: 'suite'`` is not a test itself.
    """
    tests: list[CaseResult] = []
    lines = tap.splitlines()
    subtests: dict[int, str] = {}
    result = re.compile(r"^( *)(not ok|ok) \d+ - (.*?)(?: # (SKIP|TODO)\b.*)?$")
    i = 0
    while i < len(lines):
        line = lines[i]
        sub = re.match(r"^( *)# Subtest: (.*)$", line)
        if sub:
            subtests[len(sub.group(1))] = sub.group(2)
            i += 1
            continue
        match = result.match(line)
        i += 1
        if not match:
            continue
        indent = len(match.group(1))
        yaml: list[str] = []
        if i < len(lines) and lines[i].strip() == "---":
            i += 1
            while i < len(lines) and lines[i].strip() != "...":
                yaml.append(lines[i][indent + 2 :])
                i += 1
            i += 1
        if any(y.startswith("type: 'suite'") for y in yaml):
            continue
        parents = [subtests[d] for d in sorted(subtests) if d < indent]
        name = " > ".join([*parents, match.group(3)])
        if name.startswith("/"):
            continue  # file-level record, see parse_node_junit
        error = next((y.split(":", 1)[1].strip() for y in yaml if y.startswith("error:")), "")
        if error in ("|-", "|", ">-"):
            block = [y.strip() for y in yaml[yaml.index(next(y for y in yaml if y.startswith("error:"))) + 1 :]]
            error = next((b for b in block if b), "")
        if match.group(4) == "SKIP":
            tests.append(CaseResult(name, "skipped"))
        elif match.group(2) == "ok":
            tests.append(CaseResult(name, "passed"))
        else:
            tests.append(CaseResult(name, "failed", error.strip("'\""), "\n".join(yaml)))
    return tests


_MINITEST_LINE = re.compile(r"^(\S+#\S+) = [\d.]+ s = ([.FES])\s*$")
_MINITEST_DETAIL = re.compile(r"^\s*\d+\) (Failure|Error|Skipped):\s*$")


def parse_minitest(stdout: str) -> tuple[list[CaseResult], bool]:
    """Per-test results from minitest's verbose output (``-v``): lines ``Class#test = 0.00 s = .`` (``F`` failure,
    ``E`` error, ``S`` skip), then numbered ``Failure:``/``Error:``/``Skipped:`` blocks with the details.

    Returns:
        (tests, whether the final ``N runs, N assertions, ...`` summary line was seen).
    """
    outcome_map: dict[str, Outcome] = {".": "passed", "F": "failed", "E": "error", "S": "skipped"}
    order: list[str] = []
    outcomes: dict[str, Outcome] = {}
    details: dict[str, list[str]] = {}
    lines = stdout.splitlines()
    current: str | None = None
    skip_next = False
    for idx, line in enumerate(lines):
        if skip_next:
            skip_next = False
            continue
        match = _MINITEST_LINE.match(line)
        if match:
            order.append(match.group(1))
            outcomes[match.group(1)] = outcome_map[match.group(2)]
            current = None
        elif _MINITEST_DETAIL.match(line) and idx + 1 < len(lines):
            header = re.match(r"^(\S+#\S+?)(?: \[.*\])?:\s*$", lines[idx + 1])
            current = header.group(1) if header else None
            if current is not None:
                details[current] = []
                skip_next = True
        elif re.match(r"^\d+ runs, \d+ assertions", line):
            current = None
        elif current is not None:
            details[current].append(line)
    summary = any(re.match(r"^\d+ runs, \d+ assertions", ln) for ln in lines)
    tests = []
    for name in order:
        body = "\n".join(details.get(name, [])).strip()
        tests.append(CaseResult(name, outcomes[name], _one_line(body), body))
    return tests, summary


_GO_FRAME = re.compile(r"^\s*(=== (RUN|PAUSE|CONT|NAME)\s|--- (PASS|FAIL|SKIP): )")
"""``go test`` framing lines in a test's output (not the test's own words)."""


def _go_build_errors(text: str) -> str:
    """The compiler's / vet's lines of a failed build, ``# package`` headers left out, at most 5, one line."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    lines = [ln for ln in lines if not re.match(r"^FAIL\s", ln)]
    return "; ".join(lines[:5]) + (f"; ... ({len(lines) - 5} more)" if len(lines) > 5 else "")


def parse_go_test_json(stdout: str, stderr: str = "") -> tuple[list[CaseResult], list[str]]:
    """Per-test results and package errors from ``go test -json`` (the ``test2json`` events, one JSON object a
    line; other lines are ignored).

    Tests keep Go's names (``TestSum``, ``TestSum/empty_slice``). A test with subtests is reported through its
    subtests only, unless it failed while they all passed. The message of a failure is its panic line, else the
    last line it printed (where ``t.Errorf`` / ``t.Fatalf`` usually are). A test that started but never ended
    (the binary panicked elsewhere or was killed) is an ``error``. Package errors, as ``"package: message"``: a
    build or vet failure (from ``build-output`` events, Go 1.24+, else from ``stderr``, where older Go writes
    the compiler's errors), a package that failed without a failing test (``os.Exit``, a panic in ``init`` or
    ``TestMain``), a package without test files.

    Args:
        stdout: the ``-json`` stream.
        stderr: ``go test``'s standard error (build errors of Go before 1.24).

    Returns:
        (tests in the order they started, package errors).
    """
    order: list[str] = []
    outcomes: dict[str, Outcome] = {}
    outputs: dict[str, list[str]] = {}
    build_output: dict[str, list[str]] = {}
    package_output: dict[str, list[str]] = {}
    failed_packages: dict[str, str] = {}
    skipped_packages: list[str] = []
    for line in stdout.splitlines():
        plain = re.match(r"^FAIL\s+(\S+)\s+\[(build|setup) failed\]", line)  # Go before 1.24: not JSON
        if plain:
            failed_packages.setdefault(plain.group(1), "")
            package_output.setdefault(plain.group(1), []).append(line + "\n")
        if not line.startswith("{"):
            continue
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if not isinstance(event, dict):
            continue
        action = str(event.get("Action") or "")
        text = str(event.get("Output") or "")
        if action == "build-output":
            build_output.setdefault(str(event.get("ImportPath") or ""), []).append(text)
            continue
        package = str(event.get("Package") or "")
        test = event.get("Test")
        if not test:
            if action == "output":
                package_output.setdefault(package, []).append(text)
            elif action == "fail":
                failed_packages[package] = str(event.get("FailedBuild") or "")
            elif action == "skip":
                skipped_packages.append(package)
            continue
        name = str(test)
        if action == "run" and name not in outputs:
            order.append(name)
            outputs[name] = []
        elif action == "output":
            outputs.setdefault(name, []).append(text)
        elif action in ("pass", "fail", "skip"):
            outcomes[name] = {"pass": "passed", "fail": "failed", "skip": "skipped"}[action]  # type: ignore[assignment]
            if name not in order:
                order.append(name)

    tests: list[CaseResult] = []
    for name in order:
        children = [t for t in order if t.startswith(name + "/")]
        outcome = outcomes.get(name)
        if children and not (outcome == "failed" and all(outcomes.get(c) in ("passed", "skipped") for c in children)):
            continue
        body = "".join(ln for ln in outputs.get(name, []) if not _GO_FRAME.match(ln)).strip("\n")
        text = "\n".join(ln.strip() for ln in body.splitlines())
        if outcome is None:
            tests.append(CaseResult(name, "error", "did not finish (the test binary panicked or was killed)", body))
        elif outcome == "passed":
            tests.append(CaseResult(name, "passed", "", body))
        else:  # the panic, else the last line: t.Errorf / t.Fatalf usually come after the test's logs
            lines = text.splitlines()
            message = next((ln for ln in lines if ln.startswith("panic: ")), lines[-1] if lines else "")
            tests.append(CaseResult(name, outcome, _one_line(message), body))

    errors: list[str] = []
    for package, failed_build in failed_packages.items():
        built = "".join(build_output.get(failed_build, []))
        if failed_build or "[build failed]" in "".join(package_output.get(package, [])):
            errors.append(f"{package}: build failed: {_go_build_errors(built or stderr) or 'see the output'}")
        elif not any(t.outcome in ("failed", "error") for t in tests):
            said = _go_build_errors("".join(package_output.get(package, [])) + stderr)
            errors.append(f"{package}: failed without a failing test" + (f": {said}" if said else ""))
    errors += [f"{package}: no test files" for package in skipped_packages]
    if not failed_packages and not tests and not skipped_packages and stderr.strip():
        errors.append(f"go test: {_go_build_errors(stderr)}")
    return tests, errors

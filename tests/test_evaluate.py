"""``codegraph eval`` and codegraph.evaluate: eval sets, the stripped copy, scoring, and the command (real model,
real SQLite, real tree-sitter, real subprocesses)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from codegraph.errors import EvalError, SourceError
from codegraph.evaluate import (
    EvalQuery,
    Metrics,
    build_eval_set,
    evaluate,
    first_relevant_rank,
    materialise,
    remap_line,
)
from codegraph.types import Hit

from .conftest import RunCli, write_files

FILES: dict[str, str] = {
    "pkg/geometry.py": '''
        """Geometry helpers."""

        import math


        def clamp_value(value, low, high):
            """Clamp a number so that it stays between the low and high bounds.

            Args:
                value: the number to clamp.
            """
            if value < low:
                return low
            if value > high:
                return high
            return value


        class Vector:
            """A point in the plane."""

            def norm(self):
                """Compute the euclidean length of this two dimensional vector."""
                x = self.x * self.x
                y = self.y * self.y
                return math.sqrt(x + y)

            def scaled(self, factor):
                """Return a new vector stretched by the given scale factor."""
                x = self.x * factor
                y = self.y * factor
                return Vector(x, y)
        ''',
    "pkg/textutil.py": '''
        def slugify(title):
            """Turn an article title into a lowercase url slug with dashes."""
            words = title.lower().split()
            cleaned = [w.strip(".,!?") for w in words]
            return "-".join(cleaned)


        def first_a(items):
            """Pick the first element of the list that is truthy."""
            for item in items:
                if item:
                    return item
            return None


        def first_b(items):
            """Pick the first element of the list that is truthy."""
            found = [item for item in items if item]
            first = found[:1]
            return first[0] if first else None
        ''',
    "web/cart.js": """
        // Cart helpers.

        /**
         * Sum the prices of every item in the shopping cart.
         * @param {Array} items
         */
        function cartTotal(items) {
          let total = 0;
          for (const item of items) {
            total += item.price;
          }
          return total;
        }

        /** Format an amount of cents as a dollar price string. */
        function formatPrice(cents) {
          const dollars = cents / 100;
          const text = dollars.toFixed(2);
          return "$" + text;
        }
        """,
    "server/names.go": """
        package server

        import "strings"

        // NormalizeName lowercases a service name and trims surrounding whitespace.
        // It never returns an error.
        func NormalizeName(name string) string {
            name = strings.TrimSpace(name)
            name = strings.ToLower(name)
            return name
        }

        // JoinPath joins the url path segments with single slashes between them.
        func JoinPath(parts []string) string {
            trimmed := make([]string, 0, len(parts))
            for _, p := range parts {
                trimmed = append(trimmed, strings.Trim(p, "/"))
            }
            return "/" + strings.Join(trimmed, "/")
        }
        """,
    "tests/test_geometry.py": '''
        def helper_for_tests(a, b):
            """Build a vector fixture used by several geometry tests."""
            x = a
            y = b
            return (x, y)
        ''',
    "README.md": "# Sample\n\nGeometry, carts and names.\n",
}


@pytest.fixture
def eval_repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    write_files(root, FILES)
    return root


def _snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _by_symbol(queries: tuple[EvalQuery, ...]) -> dict[str, EvalQuery]:
    return {q.symbol: q for q in queries}


# ---------------------------------------------------------------------------------------------------------------
# Eval set
# ---------------------------------------------------------------------------------------------------------------
def test_remap_line_shifts_by_the_deleted_lines_before_it() -> None:
    deleted = [(3, 4), (8, 10)]
    assert [remap_line(n, deleted) for n in (1, 2, 5, 7, 11, 20)] == [1, 2, 3, 5, 6, 15]
    assert remap_line(4, deleted) == 3  # a deleted line maps to the line that follows the deletion
    assert remap_line(9, []) == 9


def test_targets_are_remapped_exactly_in_the_stripped_copy(eval_repo: Path) -> None:
    eval_set = build_eval_set(eval_repo, limit=100)
    q = _by_symbol(eval_set.queries)
    # Python: the docstring is inside the function, so only its end moves (5 docstring lines).
    assert (q["clamp_value"].start_line, q["clamp_value"].end_line) == (6, 11)
    assert q["clamp_value"].query == "Clamp a number so that it stays between the low and high bounds."
    # Later definitions in the same file move up by every deleted line above them.
    assert (q["Vector.norm"].start_line, q["Vector.norm"].end_line) == (17, 20)
    assert (q["Vector.scaled"].start_line, q["Vector.scaled"].end_line) == (22, 25)
    # JavaScript / Go: the comment block sits above the function, so the whole function moves up.
    assert (q["cartTotal"].start_line, q["cartTotal"].end_line) == (3, 9)
    assert (q["formatPrice"].start_line, q["formatPrice"].end_line) == (11, 15)
    assert (q["NormalizeName"].start_line, q["NormalizeName"].end_line) == (5, 9)
    assert q["NormalizeName"].query == "Lowercases a service name and trims surrounding whitespace."
    assert (q["JoinPath"].start_line, q["JoinPath"].end_line) == (11, 17)

    stripped = {path: text.split("\n") for path, text in eval_set.stripped.items()}
    assert stripped["pkg/geometry.py"][5:11] == [
        "def clamp_value(value, low, high):",
        "    if value < low:",
        "        return low",
        "    if value > high:",
        "        return high",
        "    return value",
    ]
    assert stripped["web/cart.js"][2] == "function cartTotal(items) {"
    assert stripped["server/names.go"][4] == "func NormalizeName(name string) string {"
    assert '"""A point in the plane."""' in eval_set.stripped["pkg/geometry.py"]  # not a target: kept
    assert all("Clamp a number" not in text for text in eval_set.stripped.values())


def test_filters_duplicates_tests_and_languages(eval_repo: Path) -> None:
    eval_set = build_eval_set(eval_repo, limit=100)
    symbols = {q.symbol for q in eval_set.queries}
    assert "helper_for_tests" not in symbols and eval_set.dropped["path"] == 1
    assert not symbols & {"first_a", "first_b"} and eval_set.dropped["duplicate"] == 2
    assert eval_set.languages() == {"go": 2, "javascript": 2, "python": 4}
    assert [q.id for q in eval_set.queries][:3] == ["go-0001", "go-0002", "javascript-0001"]
    only_go = build_eval_set(eval_repo, languages=frozenset({"go"}))
    assert only_go.languages() == {"go": 2} and only_go.dropped["language"] == 9
    assert len(only_go.files) == len(eval_set.files) == 6  # the copy keeps every file


def test_sampling_is_seeded_and_round_robin_across_languages(eval_repo: Path) -> None:
    three = build_eval_set(eval_repo, limit=3, seed=7)
    assert three.languages() == {"go": 1, "javascript": 1, "python": 1}
    assert build_eval_set(eval_repo, limit=3, seed=7).queries == three.queries
    five = build_eval_set(eval_repo, limit=5)
    assert sorted(five.languages().values()) == [1, 2, 2]


def test_no_documented_functions_is_an_eval_error(tmp_path: Path) -> None:
    write_files(
        tmp_path / "r", {"a.py": "def f():\n    return 1\n", "tests/test_a.py": FILES["tests/test_geometry.py"]}
    )
    with pytest.raises(EvalError, match="no documented functions found in .*1 documented function"):
        build_eval_set(tmp_path / "r")
    with pytest.raises(SourceError):
        build_eval_set(tmp_path / "missing")


def test_materialise_writes_a_stripped_copy_and_never_touches_the_original(eval_repo: Path, tmp_path: Path) -> None:
    before = _snapshot(eval_repo)
    eval_set = build_eval_set(eval_repo)
    dest = tmp_path / "copy"
    materialise(eval_set, dest)
    copy = _snapshot(dest)
    assert set(copy) == set(before)
    for path, data in before.items():
        if path in eval_set.stripped:
            assert copy[path].decode() == eval_set.stripped[path] and len(copy[path]) < len(data)
        else:
            assert copy[path] == data
    assert _snapshot(eval_repo) == before
    with pytest.raises(EvalError, match="not an empty directory"):
        materialise(eval_set, dest)
    with pytest.raises(EvalError, match="outside the repository"):
        materialise(eval_set, eval_repo / "sub")
    assert _snapshot(eval_repo) == before


# ---------------------------------------------------------------------------------------------------------------
# Scoring
# ---------------------------------------------------------------------------------------------------------------
TARGET = EvalQuery("python-0001", "python", "some query text here", "a.py", 10, 20, "f")


def _hit(path: str, start: int, end: int) -> Hit:
    return Hit(path, start, end, None, "function", "python", 0.0, "")


def test_first_relevant_rank_is_lenient_and_cut_at_10() -> None:
    miss = [_hit("b.py", 10, 20), _hit("a.py", 1, 9), _hit("a.py", 21, 30)]  # other file; touching but outside
    assert first_relevant_rank([_hit("a.py", 20, 40), *miss], TARGET) == 1  # overlap of one line counts
    assert first_relevant_rank([*miss[:2], _hit("a.py", 5, 12), _hit("a.py", 12, 13)], TARGET) == 3
    assert first_relevant_rank(miss, TARGET) is None
    assert first_relevant_rank([_hit("b.py", 1, 2)] * 10 + [_hit("a.py", 10, 20)], TARGET) is None  # rank 11
    assert first_relevant_rank([], TARGET) is None


def test_metrics_from_ranks() -> None:
    m = Metrics.from_ranks([1, 3, None, 11])
    assert m.n == 4
    assert m.mrr_at_10 == pytest.approx((1 + 1 / 3) / 4)
    assert (m.recall_at_1, m.recall_at_5, m.recall_at_10) == (0.25, 0.5, 0.5)
    assert Metrics.from_ranks([10]).mrr_at_10 == pytest.approx(0.1)
    assert Metrics.from_ranks([6]).recall_at_5 == 0.0
    assert Metrics.from_ranks([]) == Metrics(0, 0.0, 0.0, 0.0, 0.0)
    assert m.to_json() == {"n": 4, "mrr@10": 0.3333, "recall@1": 0.25, "recall@5": 0.5, "recall@10": 0.5}


# ---------------------------------------------------------------------------------------------------------------
# evaluate() with the real bundled model
# ---------------------------------------------------------------------------------------------------------------
def test_evaluate_with_the_real_model(eval_repo: Path) -> None:
    before = _snapshot(eval_repo)
    eval_set = build_eval_set(eval_repo)
    stages: set[tuple[str, str]] = set()
    report = evaluate(eval_set, ["minilm"], ["hybrid", "keyword"], progress=lambda m, s, d, t: stages.add((m, s)))
    assert _snapshot(eval_repo) == before and not (eval_repo / ".codegraph").exists()
    assert {("minilm", s) for s in ("load", "chunk", "embed", "store", "search")} <= stages
    (result,) = report.models
    assert result.model == "minilm" and result.model_id.startswith("minilm@")
    assert result.files == 6 and result.chunks > 8 and result.chunks_per_s > 0 and result.latency_ms_median > 0
    hybrid = result.modes["hybrid"]
    assert hybrid.overall.n == 8 and set(hybrid.by_language) == {"go", "javascript", "python"}
    assert hybrid.by_language["python"].n == 4
    assert hybrid.overall.mrr_at_10 >= 0.5  # eight distinct topics in a tiny repo: most are found first
    assert hybrid.overall.mrr_at_10 == pytest.approx(Metrics.from_ranks(list(hybrid.ranks.values())).mrr_at_10)
    data = report.to_json()
    assert data["modes"] == ["hybrid", "keyword"] and data["relevance"] == "lenient"
    assert data["models"][0]["modes"]["keyword"]["overall"]["n"] == 8
    assert set(data["queries"][0]["ranks"]["minilm"]) == {"hybrid", "keyword"}
    json.dumps(data)


# ---------------------------------------------------------------------------------------------------------------
# The command
# ---------------------------------------------------------------------------------------------------------------
def test_cli_json(eval_repo: Path, run_cli: RunCli) -> None:
    before = _snapshot(eval_repo)
    proc = run_cli(
        "eval", ".", "--model", "minilm", "--mode", "hybrid,semantic", "--limit", "5", "--json", cwd=eval_repo
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["modes"] == ["hybrid", "semantic"] and data["seed"] == 1729 and data["limit"] == 5
    assert len(data["queries"]) == 5 and sum(data["languages"].values()) == 5
    assert set(data["queries"][0]) == {"id", "language", "query", "path", "start_line", "end_line", "symbol", "ranks"}
    (model,) = data["models"]
    assert model["model"] == "minilm" and set(model["index"]) == {"seconds", "files", "chunks", "chunks_per_s"}
    overall = model["modes"]["semantic"]["overall"]
    assert set(overall) == {"n", "mrr@10", "recall@1", "recall@5", "recall@10"} and overall["n"] == 5
    assert "minilm: embedding chunks" in proc.stderr  # one progress line per model and stage (not a terminal)
    assert _snapshot(eval_repo) == before


def test_cli_table_with_the_default_model(eval_repo: Path, run_cli: RunCli, tmp_path: Path) -> None:
    proc = run_cli("eval", "-C", str(eval_repo), "--mode", "keyword", "--lang", "go,python", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("6 queries (go 2, python 4)")
    header = next(line for line in lines if line.startswith("model"))
    assert header.split() == ["model", "mode", "MRR@10", "R@1", "R@5", "R@10", "n", "go", "MRR@10", "python", "MRR@10"]
    assert any(line.split()[:2] == ["code", "keyword"] for line in lines)
    assert any(line.startswith("code: indexed 6 files") and "chunks/s" in line for line in lines)
    assert "not installed" not in proc.stderr


def test_cli_errors(tmp_path: Path, eval_repo: Path, run_cli: RunCli) -> None:
    write_files(tmp_path / "plain", {"a.py": "def f():\n    return 1\n"})
    proc = run_cli("eval", "plain", cwd=tmp_path)
    assert proc.returncode == 1 and proc.stdout == ""
    assert "no documented functions found in" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    missing = run_cli("eval", ".", "--model", "codebert", cwd=eval_repo)
    assert missing.returncode == 1 and "codegraph model pull codebert" in missing.stderr
    assert not (eval_repo / ".codegraph").exists()
    for args in (["--mode", "fuzzy"], ["--mode", ""], ["--lang", "cobol"], ["--limit", "0"]):
        usage = run_cli("eval", ".", *args, cwd=eval_repo)
        assert usage.returncode == 2 and usage.stdout == "" and "Usage:" in usage.stderr, args
    assert run_cli("eval", "missing", cwd=tmp_path).returncode == 1
    help_text = run_cli("eval", "--help", cwd=tmp_path).stdout
    assert "MRR@10" in help_text and "never modified" in help_text

from __future__ import annotations

from pathlib import Path

import pytest

from codegraph.embed import OnnxEncoder
from codegraph.errors import ConfigError
from codegraph.index import index_repo
from codegraph.languages import parse_languages
from codegraph.search import Filters, Searcher, SearchOptions

from .conftest import write_files


@pytest.fixture
def searcher(tmp_repo: Path, encoder: OnnxEncoder) -> Searcher:
    index_repo(tmp_repo, encoder)
    return Searcher.open(tmp_repo, encoder)


@pytest.mark.parametrize("mode", ["hybrid", "semantic", "keyword"])
def test_each_mode_finds_the_function(searcher: Searcher, mode: str) -> None:
    hits = searcher.search("retry failed uploads with backoff", k=3, mode=mode)
    assert hits[0].path == "app/retry.py" and hits[0].symbol == "retry_upload"
    assert (hits[0].start_line, hits[0].end_line) == (8, 17)
    assert hits[0].kind == "function" and hits[0].language == "python"
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_semantic_search_without_shared_words(searcher: Searcher) -> None:
    hits = searcher.search("limit requests per second", k=3, mode="semantic")
    assert hits[0].symbol in ("RateLimiter", "RateLimiter.acquire", "RateLimiter.__init__")


def test_keyword_search_splits_identifiers(searcher: Searcher) -> None:
    hits = searcher.search("http header", k=1, mode="keyword")
    assert hits[0].symbol == "parseHttpHeader"


DOTENV = {
    "app/dotenv.py": """\
def load_dotenv(path):
    \"\"\"Read KEY=VALUE lines into the process.\"\"\"
    for line in open(path):
        key, _, value = line.partition("=")
        os.environ.setdefault(key.strip(), value.strip())
""",
    "app/cli.py": """\
def run_command(args):
    \"\"\"Run the command line.\"\"\"
    env_files = find_env_files(args.directory)
    for env_file in env_files:
        variables = parse_variables(env_file)
        set_environment(variables)
        log_loaded_files(env_file, variables)
    environment = dict(os.environ)
    environment_variables = sorted(environment)
    set_variables(environment_variables, files=env_files)
    return dispatch(args, environment)
""",
}


def test_keyword_ranking_prefers_the_function_a_query_names_over_a_body_that_repeats_its_words(
    tmp_path: Path, encoder: OnnxEncoder
) -> None:
    """FTS5's bm25() alone ranks ``run_command`` first (its body repeats files, environment, variables, set);
    the rescoring counts each term's best occurrence, and ``load_dotenv`` is named by two of the words."""
    from codegraph.store import Store
    from codegraph.store.store import BM25_WEIGHTS

    write_files(tmp_path, DOTENV)
    index_repo(tmp_path, encoder)
    query = "Load dotenv files to set environment variables."
    hits = Searcher.open(tmp_path, encoder).search(query, k=2, mode="keyword")
    assert [h.symbol for h in hits] == ["load_dotenv", "run_command"]
    assert hits[0].score > hits[1].score > 0
    store = Store.open(tmp_path)
    expression = " OR ".join(f'"{w}"' for w in ("load", "dotenv", "files", "set", "environment", "variables"))
    plain = store.conn.execute(
        "SELECT c.symbol FROM chunks_fts JOIN chunks c ON c.id = chunks_fts.rowid WHERE chunks_fts MATCH ? "
        "ORDER BY bm25(chunks_fts, ?, ?, ?) LIMIT 1",
        (expression, *BM25_WEIGHTS),
    ).fetchone()
    assert plain == ("run_command",)  # the case the rescoring exists for


def test_methods_are_scoped_and_go_methods_use_the_receiver(searcher: Searcher) -> None:
    hit = searcher.search("health endpoint status ok", k=1, mode="keyword")[0]
    assert (hit.symbol, hit.kind, hit.language) == ("Server.Health", "method", "go")


def test_filters_language_and_path(searcher: Searcher) -> None:
    js = searcher.search("total price", k=5, filters=Filters(languages=frozenset({"javascript"})))
    assert js and {h.language for h in js} == {"javascript"}
    app_only = searcher.search("retry", k=10, filters=Filters(path_glob="app/**"))
    assert app_only and all(h.path.startswith("app/") for h in app_only)
    none = searcher.search("retry", k=10, filters=Filters(path_glob="nothing/**"))
    assert none == []


def test_filtered_semantic_search_falls_back_to_a_full_scan(
    searcher: Searcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    import codegraph.search

    monkeypatch.setattr(codegraph.search, "MAX_KNN_K", 2)  # KNN can never reach the Go chunks now
    hits = searcher.search("retry uploads", k=2, mode="semantic", filters=Filters(languages=frozenset({"go"})))
    assert len(hits) == 2 and {h.language for h in hits} == {"go"}


def test_k_limits_results_and_blank_query_gives_none(searcher: Searcher) -> None:
    assert len(searcher.search("function", k=2, mode="semantic")) == 2
    assert searcher.search("   ", k=5) == []


def test_bad_mode_k_and_language_are_errors(searcher: Searcher) -> None:
    with pytest.raises(ConfigError, match="unknown search mode"):
        searcher.search("x", mode="fuzzy")
    with pytest.raises(ConfigError, match="at least 1"):
        searcher.search("x", k=0)
    with pytest.raises(ConfigError, match="unknown language cobol"):
        parse_languages(["python,cobol"])
    assert parse_languages(["python,go", "tsx"]) == frozenset({"python", "go", "tsx"})


def test_windows_of_a_long_definition_are_one_result(tmp_path: Path, encoder: OnnxEncoder) -> None:
    body = "\n".join(f"    total_{i} = compute_checksum(block_{i}, seed={i})" for i in range(120))
    write_files(tmp_path, {"big.py": f"def checksum_everything(blocks):\n{body}\n    return total_0\n"})
    stats = index_repo(tmp_path, encoder)
    assert stats.chunks > 2  # split into windows
    with Searcher.open(tmp_path, encoder) as searcher:
        hits = searcher.search("compute the checksum of every block", k=5)
    assert len(hits) == 1
    assert (hits[0].path, hits[0].start_line, hits[0].end_line) == ("big.py", 1, 122)
    assert hits[0].symbol == "checksum_everything"
    assert len(hits[0].excerpt.splitlines()) < 122  # the best window, not the whole function


def test_an_identifier_in_the_query_ranks_its_definition_first(tmp_path: Path, encoder: OnnxEncoder) -> None:
    root = tmp_path / "repo"
    write_files(
        root,
        {
            "lib/config.py": """
                class ConfigDict(dict):
                    '''Settings for a model.'''

                    frozen: bool = False
                """,
            "lib/uses.py": """
                from .config import ConfigDict

                def build_config_dict_from_settings(settings):
                    '''Make a ConfigDict from settings: ConfigDict(settings), a ConfigDict.'''
                    config = ConfigDict(settings)
                    config.update(ConfigDict())
                    return ConfigDict(config)
                """,
            "tests/test_config.py": """
                from lib.config import ConfigDict

                def test_config_dict():
                    assert ConfigDict(frozen=True)['frozen'] is True
                    assert ConfigDict() == ConfigDict()
                """,
        },
    )
    index_repo(root, encoder)
    with Searcher.open(root, encoder) as searcher:
        for mode in ("hybrid", "semantic", "keyword"):
            hits = searcher.search("ConfigDict", k=3, mode=mode)
            assert (hits[0].path, hits[0].symbol, hits[0].kind) == ("lib/config.py", "ConfigDict", "class"), mode
            assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
        searcher.options = SearchOptions(definition_boost=10.0)
        assert searcher.search("where is ConfigDict defined", k=3)[0].symbol == "ConfigDict"


def test_tests_are_demoted_or_excluded(tmp_path: Path, encoder: OnnxEncoder) -> None:
    root = tmp_path / "repo"
    body = "    pattern = re.compile(r'^[^@]+@[^@]+$')\n    return bool(pattern.match(address))\n"
    write_files(
        root,
        {
            "src/email.py": "import re\n\ndef is_valid_email(address):\n" + body,
            "tests/test_email.py": "import re\n\ndef test_is_valid_email(address):\n" + body,
        },
    )
    index_repo(root, encoder)
    with Searcher.open(root, encoder) as searcher:
        query = "check that an email address is valid"
        searcher.options = SearchOptions(tests="include")
        included = searcher.search(query, k=5)
        assert {h.path for h in included} == {"src/email.py", "tests/test_email.py"}
        searcher.options = SearchOptions(tests="demote")
        demoted = searcher.search(query, k=5)
        assert demoted[0].path == "src/email.py" and demoted[-1].path == "tests/test_email.py"
        searcher.options = SearchOptions(tests="exclude")
        assert {h.path for h in searcher.search(query, k=5)} == {"src/email.py"}
        searcher.options = SearchOptions(tests="sometimes")
        with pytest.raises(ConfigError, match="tests mode"):
            searcher.search(query)

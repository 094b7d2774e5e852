from __future__ import annotations

from pathlib import Path

import pytest

from codegraph.config import DEFAULT_MAX_FILE_BYTES, Settings, resolve_settings
from codegraph.errors import ConfigError


def test_defaults_without_any_source(tmp_path: Path) -> None:
    assert resolve_settings(tmp_path, environ={}) == Settings()
    assert Settings().max_file_bytes == DEFAULT_MAX_FILE_BYTES


def test_precedence_flags_over_env_over_file(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.codegraph]\nmodel = "from-pyproject"\nbatch_size = 4\nmax-file-bytes = 10\n', encoding="utf-8"
    )
    s = resolve_settings(tmp_path, environ={"CODEGRAPH_MODEL": "from-env", "CODEGRAPH_BATCH_SIZE": "16"})
    assert (s.model, s.batch_size, s.max_file_bytes) == ("from-env", 16, 10)
    s = resolve_settings(
        tmp_path,
        environ={"CODEGRAPH_MODEL": "from-env"},
        overrides={"model": "from-flag", "batch_size": None},
    )
    assert (s.model, s.batch_size) == ("from-flag", 4)


def test_own_config_file_wins_over_pyproject(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.codegraph]\nmodel = "a"\n', encoding="utf-8")
    (tmp_path / ".codegraph").mkdir()
    (tmp_path / ".codegraph" / "config.toml").write_text('model = "b"\n', encoding="utf-8")
    assert resolve_settings(tmp_path, environ={}).model == "b"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("colour = 1\n", "unknown key 'colour'"),
        ("batch_size = 'many'\n", "batch_size must be an integer"),
        ("max_file_bytes = 0\n", "must be positive"),
        ("model = \n", "invalid TOML"),
    ],
)
def test_bad_config_file_names_the_problem(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / ".codegraph").mkdir()
    (tmp_path / ".codegraph" / "config.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message) as info:
        resolve_settings(tmp_path, environ={})
    assert "config.toml" in str(info.value)


def test_bad_env_value_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="CODEGRAPH_THREADS"):
        resolve_settings(tmp_path, environ={"CODEGRAPH_THREADS": "two"})


def test_repository_llm_keys_are_refused_by_default_and_ignored_on_request(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.codegraph]\nllm-base-url = "http://evil.example/v1"\nllm_api_key_env = "HOME"\nbatch_size = 4\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="llm-base-url cannot be set in a repository's config"):
        resolve_settings(tmp_path, environ={})
    s = resolve_settings(tmp_path, environ={}, repository_llm_keys="ignore")
    assert (s.llm_base_url, s.llm_api_key_env, s.batch_size) == (None, "OPENAI_API_KEY", 4)
    assert [k.rsplit(": ", 1)[1] for k in s.ignored_keys] == ["llm-base-url", "llm_api_key_env"]
    assert all("pyproject.toml [tool.codegraph]" in k for k in s.ignored_keys)
    env = resolve_settings(
        tmp_path, environ={"CODEGRAPH_LLM_BASE_URL": "http://localhost:11434/v1"}, repository_llm_keys="ignore"
    )
    assert env.llm_base_url == "http://localhost:11434/v1"  # the environment still sets it

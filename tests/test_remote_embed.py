"""Remote embeddings (``openai:MODEL``) through the real ``openai`` client against a local embeddings server."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from codegraph.config import Settings, resolve_settings
from codegraph.embed import RemoteEncoder, encoder_for_index, open_embedder, resolve_model
from codegraph.embed.remote import RemoteOptions, estimate_tokens, open_remote, parse_model_id, retry_after_s
from codegraph.errors import ConfigError, RemoteEmbeddingError

from .conftest import CODEGRAPH, RunCli, default_sigint, wait_until
from .fake_embeddings import DIM, FakeEmbeddings, Status, fake_embeddings, vector

KEY = "sk-test-secret-0123456789"


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("CODEGRAPH_EMBED_API_KEY", KEY)


def _encoder(server: FakeEmbeddings, **options: object) -> RemoteEncoder:
    return RemoteEncoder("fake-embed", options=RemoteOptions(base_url=server.base_url, **options))  # type: ignore[arg-type]


def _use(server: FakeEmbeddings, monkeypatch: pytest.MonkeyPatch, **env: str) -> None:
    monkeypatch.setenv("CODEGRAPH_EMBED_BASE_URL", server.base_url)
    for name, value in env.items():
        monkeypatch.setenv(f"CODEGRAPH_{name.upper()}", value)


def _index_json(run_cli: RunCli, repo: Path, *extra: str) -> dict[str, object]:
    done = run_cli("index", ".", "--model", "openai:fake-embed", "--json", *extra, cwd=repo)
    assert done.returncode == 0, done.stderr
    assert KEY not in done.stdout + done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_index_and_search_through_the_cli_then_reindex_sends_nothing(
    tmp_repo: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    with fake_embeddings() as server:
        _use(server, monkeypatch)
        stats = _index_json(run_cli, tmp_repo)
        assert stats["model"] == f"openai:fake-embed@{DIM}"
        assert isinstance(stats["embedded"], int) and stats["embedded"] > 0
        assert stats["truncated"] == 0  # the chunker's windows fit; truncation: see the test below
        assert all(r.headers["authorization"] == f"Bearer {KEY}" for r in server.requests)
        # Each distinct chunk text was sent exactly once (a one-word probe learnt the width first).
        sent = server.inputs_embedded
        assert sent[0] == "dimension probe" and len(sent[1:]) == len(set(sent[1:])) == stats["embedded"]
        assert max(len(text.encode()) for text in sent) <= 8191 * 3

        found = run_cli("search", "retry failed uploads", "--json", "-k", "3", cwd=tmp_repo)
        assert found.returncode == 0, found.stderr
        assert KEY not in found.stdout + found.stderr
        assert json.loads(found.stdout)["results"]
        assert server.requests[-1].inputs == ["retry failed uploads"]

        before = len(server.requests)
        again = _index_json(run_cli, tmp_repo)
        assert again["embedded"] == 0
        assert len(server.requests) == before  # content-hash cache and remembered width: nothing paid twice


def test_a_rate_limit_is_retried_after_the_servers_retry_after() -> None:
    with fake_embeddings(script=[Status(429, "slow down", {"Retry-After": "1"})]) as server, _encoder(server) as enc:
        vectors = enc.embed_queries(["parse a header"])
    assert [r.code for r in server.requests] == [429, 200]
    assert server.requests[1].at - server.requests[0].at >= 0.9  # waited as told (no upper bound: noisy machine)
    np.testing.assert_allclose(vectors[0], vector("parse a header"), rtol=1e-6)


def test_server_errors_are_retried_with_backoff_then_give_up_with_a_clear_error() -> None:
    with fake_embeddings(script=[Status(503), Status(502)]) as server, _encoder(server, retries=2) as enc:
        assert enc.embed_queries(["x"]).shape == (1, DIM)
    assert [r.code for r in server.requests] == [503, 502, 200]
    with fake_embeddings(script=[Status(500)] * 3) as server, _encoder(server, retries=1) as enc:
        with pytest.raises(RemoteEmbeddingError, match="HTTP 500 .2 attempts"):
            enc.embed_queries(["x"])


@pytest.mark.parametrize(("concurrency", "expected"), [(None, 4), (1, 1)])
def test_requests_overlap_up_to_the_concurrency(concurrency: int | None, expected: int) -> None:
    settings = (
        Settings(embed_batch_size=2) if concurrency is None else Settings(embed_batch_size=2, embed_concurrency=1)
    )
    texts = [f"chunk {i}" for i in range(16)]
    with fake_embeddings(latency_s=0.2) as server, open_remote("openai:fake-embed", _with_url(settings, server)) as enc:
        got = {int(i): row for idx, vecs in enc.iter_embed_documents(texts) for i, row in zip(idx, vecs, strict=True)}
    assert server.max_in_flight == expected
    assert len(server.requests) == 8  # batches of 2; the width is learnt from the first answer
    for i, text in enumerate(texts):
        np.testing.assert_allclose(got[i], vector(text), rtol=1e-6)


def _with_url(settings: Settings, server: FakeEmbeddings) -> Settings:
    from dataclasses import replace

    return replace(settings, embed_base_url=server.base_url)


def test_an_over_long_input_is_truncated_and_counted() -> None:
    with fake_embeddings() as server, _encoder(server, max_tokens=100) as encoder:
        list(encoder.iter_embed_documents(["short", "é" * 1000]))
    assert encoder.truncated == 1
    sent = server.requests[-1].inputs
    assert sent[0] == "short" and sent[1] == "é" * 150  # 300 bytes = 100 estimated tokens, cut on a character
    assert estimate_tokens(sent[1]) <= 100


def test_an_interrupted_run_keeps_what_it_paid_for_and_the_next_sends_only_the_rest(
    tmp_repo: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    with fake_embeddings(fail_after=3) as server:  # the probe and two batches succeed, then every request fails
        _use(server, monkeypatch, embed_batch_size="2", embed_concurrency="1", embed_retries="0")
        failed = run_cli("index", ".", "--model", "openai:fake-embed", cwd=tmp_repo)
        assert failed.returncode == 1
        assert "HTTP 500" in failed.stderr and "Traceback" not in failed.stderr
        paid = set(server.inputs_embedded[1:])
        assert len(paid) == 4

        server.fail_after = None
        start = len(server.requests)
        stats = _index_json(run_cli, tmp_repo)
        resent = [text for r in server.requests[start:] for text in r.inputs]
        assert resent and not paid & set(resent)
        assert stats["embedded"] == len(resent)


def test_ctrl_c_keeps_the_answers_of_the_requests_in_flight(
    tmp_repo: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    with fake_embeddings(latency_s=0.5) as server:
        _use(server, monkeypatch, embed_batch_size="2", embed_concurrency="2")
        child = subprocess.Popen(
            [*CODEGRAPH, "index", ".", "--model", "openai:fake-embed", "-q"],
            cwd=tmp_repo,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=default_sigint,
        )
        assert wait_until(lambda: len(server.requests) >= 4, timeout_s=60)  # the probe, then batches
        child.send_signal(signal.SIGINT)
        _, stderr = child.communicate(timeout=60)
        assert child.returncode == 130, stderr
        answered = set(server.inputs_embedded[1:])  # every answer the server sent, in flight at Ctrl-C or not
        start = len(server.requests)
        _index_json(run_cli, tmp_repo)
        assert not answered & {text for r in server.requests[start:] for text in r.inputs}


def test_a_missing_key_is_a_clear_error(tmp_repo: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CODEGRAPH_EMBED_API_KEY")
    done = run_cli("index", ".", "--model", "openai:fake-embed", cwd=tmp_repo)
    assert done.returncode == 1
    assert "CODEGRAPH_EMBED_API_KEY or OPENAI_API_KEY" in done.stderr and "Traceback" not in done.stderr


def test_a_rejected_key_names_the_variable_not_the_key() -> None:
    with fake_embeddings(script=[Status(401, f"Incorrect API key provided: {KEY[:6]}...")]) as server:
        with _encoder(server) as enc, pytest.raises(RemoteEmbeddingError) as caught:
            enc.embed_queries(["x"])
    assert "CODEGRAPH_EMBED_API_KEY" in str(caught.value) and KEY not in str(caught.value)


def test_remote_names_and_ids_need_no_files_and_no_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    model = resolve_model("openai:text-embedding-3-small")
    assert model.profile.runtime == "remote" and model.profile.dim == 1536
    encoder = open_embedder(model, settings=Settings(embed_base_url="http://127.0.0.1:9/v1"))
    assert encoder.model_id == "openai:text-embedding-3-small@1536"  # known width: no probe (port 9 is closed)
    narrow = encoder_for_index("openai:text-embedding-3-small@256+dimensions")
    assert isinstance(narrow, RemoteEncoder) and narrow.dim == 256 and narrow.model_id.endswith("@256+dimensions")
    assert isinstance(encoder, RemoteEncoder)
    encoder.close()
    narrow.close()
    assert parse_model_id("openai:m@32") == ("m", 32, False)


def test_a_requested_width_is_sent_and_recorded() -> None:
    settings = Settings(embed_base_url="", embed_dimensions=8)
    with fake_embeddings() as server, open_remote("openai:fake-embed", _with_url(settings, server)) as encoder:
        assert encoder.embed_queries(["q"]).shape == (1, 8)
    assert encoder.model_id == "openai:fake-embed@8+dimensions"
    assert server.requests[0].body["dimensions"] == 8


def test_retry_after_forms() -> None:
    assert retry_after_s({"retry-after": "2"}) == 2.0
    assert retry_after_s({"retry-after-ms": "250"}) == 0.25
    date = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 30))
    assert 25 <= (retry_after_s({"retry-after": date}) or 0) <= 31
    assert retry_after_s({"retry-after": "soon"}) is None
    assert retry_after_s({}) is None


def test_a_repository_config_cannot_choose_a_remote_model_or_its_server(tmp_path: Path) -> None:
    config = tmp_path / ".codegraph" / "config.toml"
    config.parent.mkdir()
    config.write_text('model = "openai:text-embedding-3-large"\nembed_concurrency = 2\n')
    settings = resolve_settings(tmp_path, repository_llm_keys="ignore", environ={})
    assert settings.model is None and settings.embed_concurrency == 2
    assert settings.ignored_keys == (f"{config}: model",)
    with pytest.raises(ConfigError, match="spend your API key"):
        resolve_settings(tmp_path, environ={})
    config.write_text('embed_base_url = "https://collector.example/v1"\n')
    assert resolve_settings(tmp_path, repository_llm_keys="ignore", environ={}).embed_base_url is None
    env = {"CODEGRAPH_MODEL": "openai:text-embedding-3-large", "CODEGRAPH_EMBED_CONCURRENCY": "8"}
    from_env = resolve_settings(None, environ=env)
    assert (from_env.model, from_env.embed_concurrency) == ("openai:text-embedding-3-large", 8)

"""The endpoints that call the language model (generate, refine, test), streamed as server-sent events.

A job runs in a thread of its own and sends events as it goes; the response relays them as
``event: NAME`` / ``data: JSON`` frames (the SSE wire format: https://html.spec.whatwg.org/#server-sent-events):

* ``status`` ``{"message", ...}``: what the job is doing (retrieving context, writing Python, running tests);
* ``token`` ``{"text"}``: a piece of the model's answer as it streams in (generate and refine);
* ``round`` (test): one stored test round, as ``codegraph test --json`` prints it;
* ``snippet`` (generate, refine): the stored snippet record, as ``codegraph snippets show --json`` prints it;
* ``result`` (test): the whole run, as ``codegraph test --json`` prints it;
* ``error`` ``{"error", "status"}``: the job failed (``status``: the HTTP status the error would have had).

The last event is ``snippet``, ``result`` or ``error``. Retrieval uses the workspace's store and model under its
lock; the model call, the sandbox and the final insert use a connection of the job's own (``IndexStore.reopen``:
another SQLite connection, or another connection of the PostgreSQL pool), so searches go on while a job waits for
the model. The same rules as the CLI apply: settings refuse LLM keys set by the repository's own
config, the API key is read from the environment only and never appears in an event or a log.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi.responses import StreamingResponse

from ..config import Settings, resolve_settings
from ..errors import CodegraphError, IndexBusyError
from ..service import Workspace
from .errors import status_for

Emit = Callable[[str, dict[str, Any]], None]
"""Sends one event: ``emit(name, data)``; ``data`` must be JSON-ready."""

Job = Callable[[Emit], None]

MAX_JOBS = 4
"""Model jobs that may run at once; one more is answered 503 (each holds a thread and a model request)."""

log = logging.getLogger("codegraph.serve")


def sse_frame(event: str, data: dict[str, Any]) -> str:
    """One server-sent event: ``event: NAME\\ndata: JSON\\n\\n`` (the JSON on one line)."""
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


class JobRunner:
    """Starts jobs (at most :data:`MAX_JOBS` at once) and relays their events as a streamed response."""

    def __init__(self, max_jobs: int = MAX_JOBS) -> None:
        self._slots = threading.BoundedSemaphore(max_jobs)

    def stream(self, job: Job) -> StreamingResponse:
        """Run ``job`` in a thread and stream its events (``text/event-stream``).

        Raises:
            IndexBusyError: :data:`MAX_JOBS` jobs are running already (HTTP 503).
        """
        if not self._slots.acquire(blocking=False):
            raise IndexBusyError(f"{MAX_JOBS} model requests are running already; try again when one is done")
        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        return StreamingResponse(self._events(job), media_type="text/event-stream", headers=headers)

    async def _events(self, job: Job) -> AsyncIterator[str]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[str | None] = asyncio.Queue()

        def put(item: str | None) -> None:
            with contextlib.suppress(RuntimeError):  # the loop is gone: the client left and the server stopped
                loop.call_soon_threadsafe(queue.put_nowait, item)

        def emit(event: str, data: dict[str, Any]) -> None:
            put(sse_frame(event, data))

        def run() -> None:
            try:
                job(emit)
            except CodegraphError as exc:
                emit("error", {"error": str(exc), "status": status_for(exc)})
            except Exception:
                log.exception("job failed")
                emit("error", {"error": "internal error (see the server's log)", "status": 500})
            finally:
                self._slots.release()
                put(None)

        threading.Thread(target=run, name="codegraph-job", daemon=True).start()
        while (frame := await queue.get()) is not None:
            yield frame


def llm_settings(ws: Workspace, **overrides: Any) -> Settings:
    """Settings for a model call, resolved as the CLI's ``generate``/``test`` resolve them, with the key checked.

    Raises:
        ConfigError: the repository's config sets ``llm_base_url`` or ``llm_api_key_env`` (only the environment
            may), or a value is invalid.
        LLMError: no API key in the environment.
    """
    from ..assist.llm import api_key

    settings = resolve_settings(ws.root, overrides=overrides, repository_llm_keys="refuse")
    api_key(settings)
    return settings


def generate_job(ws: Workspace, request: str, *, language: str | None, k: int, plan: bool, settings: Settings) -> Job:
    """``codegraph generate REQUEST [--lang L] [-k K] [--plan]`` as a job (events: status, token, snippet)."""
    from ..assist.context import answer_language, indexed_language_counts, repo_map_context, retrieve_context
    from ..assist.generate import generate_snippet
    from ..assist.snippets import context_of
    from ..languages import ASSIST_LANGUAGES

    def job(emit: Emit) -> None:
        emit("status", {"message": "retrieving context from the index"})
        with ws.lock:
            ws.ensure_fresh()
            encoder = ws.embedder if k else None
            hits = retrieve_context(ws.store, request, language=language, k=k, settings=settings, encoder=encoder)
            chosen = answer_language(language, hits, indexed_language_counts(ws.store))
            repo_map = repo_map_context(ws.store)
        emit(
            "status",
            {
                "message": f"writing {ASSIST_LANGUAGES[chosen]} with {len(hits)} context chunks",
                "language": chosen,
                "context": context_of(hits),
            },
        )
        with ws.store.reopen() as store:
            snippet = generate_snippet(
                store,
                request,
                language=chosen,
                hits=hits,
                settings=settings,
                plan=plan,
                on_text=lambda text: emit("token", {"text": text}),
                repo_map=repo_map,
            )
        emit("snippet", snippet.to_json())

    return job


def refine_job(ws: Workspace, snippet_id: int, feedback: str, *, k: int, settings: Settings) -> Job:
    """``codegraph generate --refine ID FEEDBACK`` as a job (events: status, token, snippet).

    Raises:
        SnippetNotFoundError: no snippet ``snippet_id`` (checked now, before the stream starts).
    """
    from ..assist.context import retrieve_context
    from ..assist.generate import refine_snippet
    from ..assist.snippets import get_snippet

    with ws.lock:
        parent = get_snippet(ws.store, snippet_id)

    def job(emit: Emit) -> None:
        emit("status", {"message": "retrieving context from the index"})
        with ws.lock:
            ws.ensure_fresh()
            encoder = ws.embedder if k else None
            query = f"{parent.prompt}\n{feedback}"
            hits = retrieve_context(ws.store, query, language=parent.language, k=k, settings=settings, encoder=encoder)
        emit("status", {"message": f"revising snippet {snippet_id}", "language": parent.language})
        with ws.store.reopen() as store:
            snippet = refine_snippet(
                store, snippet_id, feedback, hits=hits, settings=settings, on_text=lambda t: emit("token", {"text": t})
            )
        emit("snippet", snippet.to_json())

    return job


def tests_job(
    ws: Workspace,
    snippet_id: int,
    *,
    fix_rounds: int,
    k: int,
    timeout_s: float,
    memory_mb: int,
    settings: Settings,
) -> Job:
    """``codegraph test ID --fix N`` as a job (events: status, round, result): tests written by the model, run
    in the sandbox with ``timeout_s`` seconds of wall time and ``memory_mb`` MiB per process.

    Raises:
        SnippetNotFoundError, TargetError: checked now, before the stream starts.
    """
    from ..assist.context import retrieve_context
    from ..assist.sandbox import MIB, SandboxLimits, check_runner, find_runner
    from ..assist.testgen import report_json, resolve_target, round_json, run_test_rounds

    label = str(snippet_id)
    with ws.lock:
        goal = resolve_target(ws.store, label)
    limits = SandboxLimits(wall_time_s=timeout_s, cpu_time_s=int(timeout_s) + 1, memory_bytes=memory_mb * MIB)

    def job(emit: Emit) -> None:
        emit("status", {"message": f"checking the {goal.language} test runner"})
        found = find_runner(
            goal.language, root=ws.root, python=settings.python, virtual_env=os.environ.get("VIRTUAL_ENV") or None
        )
        runner = check_runner(found, limits)  # before any model call: a missing runner costs no request
        emit("status", {"message": f"asking for tests; runner: {runner.describe()}"})
        with ws.lock:
            encoder = ws.embedder if k else None
            hits = retrieve_context(
                ws.store, goal.code[:2000], language=goal.language, k=k, settings=settings, encoder=encoder
            )
        with ws.store.reopen() as store:
            rounds = run_test_rounds(
                store,
                goal,
                settings=settings,
                hits=hits,
                fix_rounds=fix_rounds,
                limits=limits,
                on_round=lambda done: emit("round", round_json(done)),
                runner=runner,
            )
        emit("result", report_json(label, goal.language, runner, rounds))

    return job

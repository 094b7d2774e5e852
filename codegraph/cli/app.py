"""Entry point: builds the Typer app and maps outcomes to exit codes.

Exit codes: 0 success; 1 an error the user can fix (one line on stderr says how); 2 usage error;
130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import errno
from typing import Annotated

import typer

from ..errors import CodegraphError, OutputClosed
from . import (
    eval_cmd,
    generate_cmd,
    graph_cmd,
    index_cmd,
    mcp_cmd,
    model_cmd,
    projects_cmd,
    search_cmd,
    serve_cmd,
    status_cmd,
    test_cmd,
    watch_cmd,
)

INTERRUPTED = 130
"""Exit code after Ctrl-C (128 + SIGINT), as shells report it."""

app = typer.Typer(
    name="codegraph",
    help="Local code search: index a repository, then search it in natural language or by keyword.\n\n"
    'Start with:  codegraph index .   then:  codegraph search "where do we retry failed uploads"',
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _show_version(value: bool) -> None:
    if value:
        from ..distribution import version

        typer.echo(f"codegraph {version()}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            is_eager=True,
            callback=_show_version,
            help="Print codegraph's version (codegraph X.Y.Z) and exit.",
        ),
    ] = False,
) -> None:
    """Local code search: index a repository, then search it in natural language or by keyword."""


app.command("index")(index_cmd.index)
app.command("search")(search_cmd.search)
app.command("status")(status_cmd.status)
app.command("projects")(projects_cmd.projects)
app.command("watch")(watch_cmd.watch)
app.command("def")(graph_cmd.definition)
app.command("refs")(graph_cmd.refs)
app.command("callers")(graph_cmd.callers)
app.command("callees")(graph_cmd.callees)
app.command("deps")(graph_cmd.deps)
app.command("outline")(graph_cmd.outline)
app.command("impact")(graph_cmd.impact)
app.command("tree")(graph_cmd.tree)
app.command("graph")(graph_cmd.draw)
app.command("map")(graph_cmd.repo_map)
app.command("generate")(generate_cmd.generate)
app.command("test")(test_cmd.test)
app.command("eval")(eval_cmd.evaluate)
app.command("mcp")(mcp_cmd.mcp)
app.command("serve")(serve_cmd.serve)
app.add_typer(generate_cmd.snippets_app, name="snippets")
app.add_typer(model_cmd.app, name="model")


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code (the console script passes it to ``sys.exit``)."""
    command = typer.main.get_command(app)
    try:
        # Non-standalone mode returns typer.Exit codes; typer turns Ctrl-C inside a command into Exit(130).
        code = command.main(args=argv, prog_name="codegraph", standalone_mode=False)
    except typer.Exit as exc:
        return int(exc.exit_code)
    except typer.TyperException as exc:  # click's ClickException family: usage errors exit 2
        exc.show()  # type: ignore[attr-defined]
        return int(getattr(exc, "exit_code", 2))
    except (KeyboardInterrupt, typer.Abort):
        from . import render

        render.err.print("interrupted", style="yellow")
        return INTERRUPTED
    except CodegraphError as exc:
        from . import render

        render.error(str(exc))
        return 1
    except (OutputClosed, BrokenPipeError):  # the reader of stdout left (`codegraph search ... | head -1`)
        return 0
    except Exception as exc:
        message = _environment_error(exc)
        if message is None:
            raise
        from . import render

        render.error(message)
        return 1
    if code == INTERRUPTED:
        from . import render

        render.err.print("interrupted", style="yellow")
    return code if isinstance(code, int) else 0


_ENVIRONMENT_ERRNOS = {
    errno.ENOSPC: "free some space and run the command again (the index keeps its last committed state)",
    errno.EDQUOT: "free some space and run the command again (the index keeps its last committed state)",
    errno.EROFS: "codegraph index and watch need write access to the .codegraph directory",
    errno.EACCES: "codegraph index and watch need write access to the .codegraph directory",
    errno.EPERM: "codegraph index and watch need write access to the .codegraph directory",
    errno.EIO: "check the disk, then run the command again",
}
"""OS errors that are the machine's state (full disk, read-only or forbidden path), not a bug: what to do."""


def _environment_error(exc: Exception) -> str | None:
    """One line for an error of the machine rather than of codegraph: a SQLite error on the index (full disk,
    damaged file, read-only directory) or a full, read-only or forbidden file system; ``None`` for others."""
    from ..store.sqlite import store_error

    error = store_error(exc)
    if error is not None:
        return str(error)
    if isinstance(exc, OSError) and exc.errno in _ENVIRONMENT_ERRNOS:
        where = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror or exc}{where}; {_ENVIRONMENT_ERRNOS[exc.errno]}"
    return None

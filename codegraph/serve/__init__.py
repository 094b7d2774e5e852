"""``codegraph serve``: a FastAPI app over one :class:`~codegraph.service.Workspace` (JSON and server-sent events
under ``/api``, a web page at ``/``).

Needs the optional ``serve`` extra (fastapi, uvicorn, jinja2); nothing else in codegraph imports this package.
Every endpoint answers through the workspace or the ``assist`` functions: no search, graph or snippet logic lives
here. The app: :func:`codegraph.serve.app.create_app`; this package's ``__init__`` imports nothing, so the command
line can check the host rules (:mod:`codegraph.serve.hosts`) before it needs the extra.
"""

"""The ``codegraph`` command line (Typer). Only this package prints or exits."""

from .app import app, main

__all__ = ["app", "main"]

"""``python -m codegraph``."""

from .cli import main

raise SystemExit(main())

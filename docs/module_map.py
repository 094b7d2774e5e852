"""Write docs/architecture.md: the module map (module -> first sentence of its docstring -> lines).

Run from the repository root: python docs/module_map.py
"""

from __future__ import annotations

import ast
from pathlib import Path

HEADER = """# Architecture: the module map

The pipeline is one-way: `discover → chunk → embed → store → search`; `index`, `status`, `watch`, `evaluate` and
`assist/` compose it, and `cli/` is the only layer that prints or exits (typer and rich are banned elsewhere by
ruff). Leaf modules (`errors`, `types`, `languages`, `identifiers`, `home`, `files`, `distribution`,
`_compat`) import nothing of codegraph's but each other. Every SQL statement lives under `store/`; every error
class in `errors.py`.
The sandbox's launcher (`assist/sandbox/launch.py`) imports the standard library only and is run by path.

Regenerate this file with `python docs/module_map.py` (first sentence of each module's docstring, line count).

| module | job | lines |
|---|---|---:|
"""


def job(source: str) -> str:
    """First sentence of the module docstring, on one line, at most ~140 characters."""
    doc = ast.get_docstring(ast.parse(source)) or ""
    first = " ".join(doc.strip().split("\n\n")[0].split()).split(". ")[0].rstrip(".")
    if len(first) > 140:
        first = first[:137].rsplit(" ", 1)[0] + " …"
    return first.replace("|", "/")


def main() -> None:
    rows = []
    for path in sorted(Path("codegraph").rglob("*.py")):
        if "__pycache__" not in path.parts:
            source = path.read_text(encoding="utf-8")
            rows.append(f"| `{path.as_posix()}` | {job(source)} | {source.count(chr(10))} |")
    Path("docs/architecture.md").write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

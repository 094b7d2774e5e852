"""Small helpers over tree-sitter nodes and nested definitions, shared by the chunker and
:mod:`codegraph.docstrings` (both walk the same definitions queries)."""

from __future__ import annotations

from typing import Any


def node_text(node: Any) -> str:
    """A node's source text, decoded as UTF-8 (undecodable bytes replaced)."""
    return node.text.decode("utf-8", "replace") if node.text is not None else ""


def end_row(node: Any) -> int:
    """0-based last row that holds text of the node (a node ending at column 0 ends on the row before)."""
    end = node.end_point
    return int(end.row - 1 if end.column == 0 and end.row > node.start_point.row else end.row)


class Nested:
    """Behaviour of a definition nested in others (a mixin for dataclasses that define ``kind``, ``name``,
    ``explicit_scope`` and ``parent``)."""

    __slots__ = ()
    kind: str
    name: str | None
    explicit_scope: str | None
    parent: Any

    @property
    def is_function(self) -> bool:
        """A function or method."""
        return self.kind in ("function", "method")

    def in_function(self) -> bool:
        """Whether any enclosing definition is a function (nested functions stay in their parent)."""
        node = self.parent
        while node is not None:
            if node.is_function:
                return True
            node = node.parent
        return False

    def scope_path(self) -> list[str]:
        """Names of the enclosing definitions, outermost first, then the explicit scope (a Go receiver, a Rust
        ``impl`` type) if the definition has one."""
        names: list[str] = []
        node = self.parent
        while node is not None:
            if node.name:
                names.append(node.name)
            node = node.parent
        names.reverse()
        if self.explicit_scope:
            names.append(self.explicit_scope)
        return names

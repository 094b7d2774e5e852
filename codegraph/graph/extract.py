"""Extract a file's code graph facts: definitions, references (calls, types, inheritance) and imports.

One tree-sitter query per language (``queries/<language>.scm``, capture convention in ``queries/README.md``) is
run over an already-parsed syntax tree, and one loop turns its matches into frozen records for every language:

* :class:`Definition`: a named definition (function, method, class, interface, struct, enum, trait, type,
  module, constant) with its 1-based inclusive line range and the dotted names of the definitions around it.
* :class:`Reference`: a name used as a call target, a type, or a base type (inheritance), with the qualified
  name of the innermost definition it sits in and, for ``obj.method()``-style calls, the receiver text.
* :class:`Import`: an import, ``use``, ``using``, ``require`` or ``#include``, normalised per language to a
  module path, imported names (and their local renames), relative level, module alias and a system flag.

The indexer passes the tree the chunker already parsed (:func:`extract`); :func:`extract_source` parses first,
for tests and tools. Nothing here resolves a name to another file: that is the next layer's work.

All line numbers are 1-based and inclusive. Names are read from the source bytes as UTF-8 (undecodable bytes
replaced). Qualified names join their parts with ``.`` whatever the language writes (``mod::Type``,
``Foo::bar``, ``A.B``), and generic arguments are dropped (``Foo<T>::bar`` is ``Foo.bar``).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from ..chunk.grammars import ts_language, ts_parser
from ..languages import BY_NAME
from . import CLASS_LIKE_KINDS

QUERIES_DIR = Path(__file__).resolve().parent / "queries"

DEFINITION_KINDS: frozenset[str] = frozenset(
    {"function", "method", "class", "interface", "struct", "enum", "trait", "type", "module", "constant"}
)
"""Kinds of :class:`Definition` (``@definition.<kind>`` in the queries)."""

REFERENCE_KINDS: frozenset[str] = frozenset({"call", "type", "inherit"})
"""Kinds of :class:`Reference` (``@name.reference.<kind>``; ``import`` matches become :class:`Import` records)."""


# A Ruby ``def`` inside a ``module`` defines an instance method of the module (a mixin), not a free function.
_CLASS_LIKE_BY_LANGUAGE: dict[str, frozenset[str]] = {"ruby": CLASS_LIKE_KINDS | {"module"}}

# Definitions whose node is one statement but which hold everything after it in their parent: a C# file-scoped
# `namespace A.B;` (a sibling of the declarations it holds in tree-sitter-c-sharp 0.23).
_HOLDS_WHAT_FOLLOWS = frozenset({"file_scoped_namespace_declaration"})

# A reference name node seen by several patterns keeps the most specific kind.
_REF_PRIORITY = {"inherit": 3, "call": 2, "type": 1}

_MAX_QUALIFIER = 120
_QUALIFIER_PATH = re.compile(r"(?:[\w$@#.:?>-]|\(\))+")  # one character or `()` per step: no backtracking
_QUALIFIER_SEPARATORS = re.compile(r"::|->|\?\.")
_WHITESPACE = re.compile(r"\s+")
_AROUND_SEPARATORS = re.compile(r"\s*(\.|::|->|\?\.)\s*")
_GENERIC_ARGS = re.compile(r"(?<=\w)<[^<>]*>")
_TYPE_DECORATION = re.compile(r"^(?:[&*]|'\w+\s*|mut\s+|dyn\s+|const\s+)+")
_NAME_SEPARATORS = re.compile(r"::|\.")


@dataclass(frozen=True, slots=True)
class Definition:
    """A named definition.

    Attributes:
        name: the defined name, unqualified (``send``; ``operator==`` and ``~Client`` for C++ members).
        kind: one of :data:`DEFINITION_KINDS`. A function directly inside a class-like definition (or owned by one
            written elsewhere: a Go receiver, a C++ ``Foo::bar``, a JavaScript ``Foo.prototype.bar``) is a
            ``method``.
        start_line: first line of the definition's syntax node (1-based). Doc comments above it are outside the
            node, and so are Python decorators; Java annotations and C# attributes are inside it.
        end_line: last line of the definition's syntax node (1-based, inclusive).
        scope: the dotted names of the enclosing definitions, outermost first (``Client`` for method ``send``,
            ``net.Client`` inside ``namespace net``), including an owner written outside the definition (Go
            receiver type, Rust ``impl`` type, C++ qualifier, Ruby ``class Foo::Bar``'s ``Foo``); ``None`` at
            file level.
    """

    name: str
    kind: str
    start_line: int
    end_line: int
    scope: str | None = None

    @property
    def qualified_name(self) -> str:
        """``scope.name``, or ``name`` at file level."""
        return f"{self.scope}.{self.name}" if self.scope else self.name


COMPLEX_RECEIVER = "?"
""":attr:`Reference.qualifier` of a name reached through an expression that is not a plain path (a call's
result, an index, a literal): ``g(x).f()`` has a receiver, so ``f`` is a method, but not one we can name."""


@dataclass(frozen=True, slots=True)
class Reference:
    """A name used as a call target, a type or a base type.

    Attributes:
        name: the referenced name, unqualified (``send`` in ``self.client.send(x)``; ``Base`` in ``pkg.Base``).
        kind: one of :data:`REFERENCE_KINDS`: ``call`` (also ``new Foo()`` and macro invocations), ``type`` (a
            type annotation, parameter, field, generic argument, caught exception), ``inherit`` (extends,
            implements, base classes, Rust ``impl Trait for``, Go embedding, Ruby ``include``/``extend``).
        line: line of the name (1-based).
        enclosing: qualified name of the innermost definition the reference sits in (for a Rust ``impl Trait for
            Type``, the type); ``None`` at file level.
        qualifier: what the name is reached through, when it is a plain path: the receiver of a method call
            (``self.client``, ``fmt``, ``Foo``, ``super()``) or the package/namespace of a qualified type, with
            ``::`` and ``->`` written as ``.``; :data:`COMPLEX_RECEIVER` for a receiver that is not a plain path
            (``g(x).f()``, ``items[0].f()``); ``None`` for a bare name (``f()``).
    """

    name: str
    kind: str
    line: int
    enclosing: str | None = None
    qualifier: str | None = None


@dataclass(frozen=True, slots=True)
class Import:
    """One imported module, normalised per language (see ``queries/README.md`` for each language's forms).

    Attributes:
        module: the module path: dotted for Python, Java, C#, Rust (``crate.a.b``); the string as written
            without quotes for JavaScript/TypeScript, Go, Ruby and C/C++ includes (without a relative prefix).
        line: first line of the import statement (1-based).
        names: names imported from the module (``from m import a, b``, ``import {a, b} from "m"``, Rust
            ``use m::{a, b}``, a Java static import's member), ``"*"`` for a wildcard; empty when the module
            itself is imported.
        relative_level: ``0`` for an absolute import; ``n >= 1`` for one relative to the importing file's
            package or directory, going up ``n - 1`` levels: Python's leading dots, ``./`` (1) and ``../`` (2,
            each more adds one) in JavaScript/TypeScript and Ruby ``require_relative``, Rust ``self::`` (1),
            ``super::`` (2 per ``super`` plus one) and ``mod x;`` (1).
        alias: the local name bound to the module (``import a as b``, ``import * as b``, a JavaScript default
            import or ``const b = require(...)``, a Go import name, C# ``using B = A.C``, Rust ``use a as b``).
        system: a C/C++ ``#include <...>`` (not a repository file); quoted includes are ``False``.
        renames: ``(name, local name)`` for each name of ``names`` bound under another name (``from m import a as
            b``, ``import { a as b }``, ``const { a: b } = require(...)``, Rust ``use m::{a as b}``).
    """

    module: str
    line: int
    names: tuple[str, ...] = ()
    relative_level: int = 0
    alias: str | None = None
    system: bool = False
    renames: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class FileGraph:
    """Everything extracted from one file, each list in source order."""

    language: str
    definitions: tuple[Definition, ...]
    references: tuple[Reference, ...]
    imports: tuple[Import, ...]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: ``{"definitions": [...], "references": [...], "imports": [...]}`` (lists of the
        records' fields; ``names`` as a list)."""
        return {
            "definitions": [
                {"name": d.name, "kind": d.kind, "start_line": d.start_line, "end_line": d.end_line, "scope": d.scope}
                for d in self.definitions
            ],
            "references": [
                {"name": r.name, "kind": r.kind, "line": r.line, "enclosing": r.enclosing, "qualifier": r.qualifier}
                for r in self.references
            ],
            "imports": [
                {
                    "module": i.module,
                    "line": i.line,
                    "names": list(i.names),
                    "relative_level": i.relative_level,
                    "alias": i.alias,
                    "system": i.system,
                    "renames": [list(pair) for pair in i.renames],
                }
                for i in self.imports
            ],
        }


# -- the compiled query and what each pattern yields ----------------------------------------------------------

# What a pattern yields (each pattern yields one of these, decided by its captures).
_DEF, _REF, _IMPORT, _CONTAINER, _LOCAL, _IGNORE = 1, 2, 3, 4, 5, 6
_CONTAINER_KIND = ""  # kind of a _Def that only lends its name to what it contains

_AUXILIARY = frozenset({"qualifier", "scope", "import.name", "import.local", "import.alias", "reference.import"})
_CAPTURE = re.compile(r"@([A-Za-z_][\w.]*)")


def _pattern_plan(captures: set[str]) -> tuple[int, str, str, str]:
    """(what the pattern yields, kind, capture of its name node, capture of the node holding it) from the capture
    names of one pattern.

    Raises:
        ValueError: a capture outside the convention (``queries/README.md``), or a pattern that mixes yields.
    """
    found: list[tuple[int, str, str, str]] = []
    for capture in sorted(captures):
        head, _, kind = capture.rpartition(".")
        if capture.startswith("_") or capture in _AUXILIARY:
            continue
        if head == "name.definition" and kind in DEFINITION_KINDS:
            if f"definition.{kind}" not in captures:
                raise ValueError(f"@{capture} without @definition.{kind}")
            found.append((_DEF, kind, capture, f"definition.{kind}"))
        elif head == "definition" and kind in DEFINITION_KINDS:
            if f"name.definition.{kind}" not in captures:
                raise ValueError(f"@{capture} without @name.definition.{kind}")
        elif head == "name.reference" and kind in REFERENCE_KINDS:
            found.append((_REF, kind, capture, ""))
        elif head == "reference" and kind in REFERENCE_KINDS:
            continue  # the whole reference node: documentation only (disabled in the compiled query)
        elif capture == "name.reference.import":
            found.append((_IMPORT, "import", capture, "reference.import"))
        elif capture == "container":
            if "scope" not in captures:
                raise ValueError("@container without @scope")
            found.append((_CONTAINER, _CONTAINER_KIND, "scope", "container"))
        elif capture == "local.name":
            if "local.scope" not in captures:
                raise ValueError("@local.name without @local.scope")
            found.append((_LOCAL, "", capture, "local.scope"))
        elif capture == "local.scope":
            continue
        elif capture == "ignore":
            found.append((_IGNORE, "", capture, ""))
        else:
            raise ValueError(f"capture @{capture} is not in the graph query convention (see queries/README.md)")
    if len(found) != 1:
        raise ValueError(f"a pattern must yield one thing, not {found or 'nothing'}")
    what = found[0][0]
    allowed = {"scope": (_DEF, _CONTAINER), "qualifier": (_REF,)}
    allowed |= dict.fromkeys(("import.name", "import.local", "import.alias"), (_IMPORT,))
    for capture, yields in allowed.items():
        if capture in captures and what not in yields:
            raise ValueError(f"@{capture} in a pattern that yields {found[0][1] or 'no'} {found[0][2]}")
    return found[0]


def query_source(language: str) -> str:
    """The graph query text of a language: ``queries/<queries or name>.scm``, then ``queries/<name>.scm`` when a
    language shares another's file and adds its own (TSX: TypeScript's, then JSX patterns).

    Raises:
        KeyError: unknown language id.
    """
    spec = BY_NAME[language]
    parts = [(QUERIES_DIR / f"{spec.queries or spec.name}.scm").read_text(encoding="utf-8")]
    own = QUERIES_DIR / f"{spec.name}.scm"
    if spec.queries and spec.queries != spec.name and own.is_file():
        parts.append(own.read_text(encoding="utf-8"))
    return "\n".join(parts)


@dataclass(frozen=True, slots=True)
class _Plan:
    query: Any
    patterns: tuple[tuple[int, str, str, str, int], ...]  # per pattern: _pattern_plan + the reference rank


@cache
def _plan(language: str) -> _Plan:
    import tree_sitter

    text = query_source(language)
    query = tree_sitter.Query(ts_language(language), text)
    source = text.encode("utf-8")
    patterns = []
    for i in range(query.pattern_count):
        body = source[query.start_byte_for_pattern(i) : query.end_byte_for_pattern(i)].decode("utf-8")
        code = "\n".join(line for line in body.split("\n") if not line.lstrip().startswith(";"))
        what, kind, name_capture, node_capture = _pattern_plan(set(_CAPTURE.findall(code)))
        patterns.append((what, kind, name_capture, node_capture, _REF_PRIORITY.get(kind, 0) * 2))
    for i in range(query.capture_count):  # whole-reference nodes are documentation: no Node objects for them
        head, _, kind = query.capture_name(i).rpartition(".")
        if head == "reference" and kind in REFERENCE_KINDS:
            query.disable_capture(query.capture_name(i))
    return _Plan(query, tuple(patterns))


def graph_query(language: str) -> Any:
    """The compiled graph query of a language (cached).

    Raises:
        ValueError: a capture outside the convention, or a pattern that does not yield exactly one thing.
        tree_sitter.QueryError: a pattern the grammar does not accept.
    """
    return _plan(language).query


# -- text helpers -------------------------------------------------------------------------------------------


def _text(source: bytes, node: Any) -> str:
    return source[node.start_byte : node.end_byte].decode("utf-8", "replace")


def _end_line(node: Any) -> int:
    """1-based last line holding text of ``node`` (a node ending at column 0 ends on the line before)."""
    end = node.end_point
    return int(end.row if end.column == 0 and end.row > node.start_point.row else end.row + 1)


def _strip_generics(text: str) -> str:
    while "<" in text:
        stripped = _GENERIC_ARGS.sub("", text)
        if stripped == text:
            break
        text = stripped
    return text


def _split_name(text: str) -> tuple[list[str], str]:
    """(qualifying parts, name) of a definition's name as written: ``ns::Foo<T>::bar`` -> (["ns", "Foo"],
    "bar"); ``A.B`` -> (["A"], "B"); ``operator==`` and ``Foo::operator<`` keep the operator whole."""
    if text.isidentifier():
        return [], text
    text = _AROUND_SEPARATORS.sub(r"\1", " ".join(text.split())).strip("'\"`")
    if text.startswith("["):
        return [], text  # a computed JavaScript member name: `[Symbol.iterator]`
    if text.startswith(":") and not text.startswith("::"):
        text = text[1:]  # a Ruby symbol (`attr_reader :name`)
    head, name = "", text
    at = text.find("operator")
    if at >= 0 and (at == 0 or not (text[at - 1].isalnum() or text[at - 1] == "_")):
        head, name = text[:at], text[at:]
    else:
        text = _strip_generics(text)
        cut = max(text.rfind("::") + 1, text.rfind(".")) if ("::" in text or "." in text) else -1
        if cut >= 0:
            head, name = text[:cut], text[cut + 1 :]
            head = head[:-1] if head.endswith(":") else head
        else:
            name = text
    if " " in name and not name.startswith("operator"):
        return [], name.rsplit(" ", 1)[1]  # error recovery joined a macro or type to the name: `DECL_T f`
    parts = [p for p in _NAME_SEPARATORS.split(_strip_generics(head)) if p] if head else []
    return parts, name


def _scope_parts(text: str) -> list[str]:
    """Dotted parts of an explicit owner as written (``&'a mut Foo<T>`` -> ["Foo"], ``fmt::Display`` ->
    ["fmt", "Display"])."""
    text = _TYPE_DECORATION.sub("", _strip_generics(_WHITESPACE.sub(" ", text).strip()))
    return [p for p in _NAME_SEPARATORS.split(text.replace(" ", "")) if p]


def _qualifier(text: str) -> str | None:
    """The receiver or namespace text when it is a plain path (``self.client``, ``std::fs``, ``this->x``,
    ``super()``), separators written as ``.``; else ``None``."""
    if text.isidentifier():
        return text
    if "\n" in text or " " in text or "\t" in text:
        text = _AROUND_SEPARATORS.sub(r"\1", text)  # a call chain over several lines
    if len(text) > _MAX_QUALIFIER or not _QUALIFIER_PATH.fullmatch(text):
        return None
    return _QUALIFIER_SEPARATORS.sub(".", text) if (":" in text or ">" in text or "?" in text) else text


# -- imports ------------------------------------------------------------------------------------------------


def _path_relative(module: str) -> tuple[str, int]:
    """``./x`` -> ("x", 1), ``../../x`` -> ("x", 3), ``.`` -> ("", 1), ``x`` -> ("x", 0)."""
    if module in (".", "./"):
        return "", 1
    if module.startswith("./"):
        module, level = module[2:], 1
    elif module == ".." or module.startswith("../"):
        level = 1
        while module == ".." or module.startswith("../"):
            module, level = module[3:], level + 1
    else:
        return module, 0
    while module.startswith("./"):
        module = module[2:]
    return module, level


def _rust_use_leaves(source: bytes, node: Any, prefix: list[str]) -> list[tuple[list[str], str | None]]:
    """Leaves of a Rust use tree: (full path parts, alias) per imported path; ``*`` is a part."""
    kind = node.type
    if kind == "use_as_clause":
        path = node.child_by_field_name("path")
        alias = node.child_by_field_name("alias")
        parts = prefix + _scope_parts(_text(source, path)) if path is not None else prefix
        return [(parts, _text(source, alias) if alias is not None else None)]
    if kind == "use_wildcard":
        inner = [c for c in node.named_children if c.type != "*"]
        parts = prefix + (_scope_parts(_text(source, inner[0])) if inner else [])
        return [(parts + ["*"], None)]
    if kind == "scoped_use_list":
        path = node.child_by_field_name("path")
        listed = node.child_by_field_name("list")
        base = prefix + (_scope_parts(_text(source, path)) if path is not None else [])
        return _rust_use_leaves(source, listed, base) if listed is not None else []
    if kind == "use_list":
        out: list[tuple[list[str], str | None]] = []
        for child in node.named_children:
            out += _rust_use_leaves(source, child, prefix)
        return out
    return [(prefix + _scope_parts(_text(source, node)), None)]


def _rust_relative(parts: list[str]) -> tuple[list[str], int]:
    if parts and parts[0] == "self":
        return parts[1:], 1
    level = 1
    while parts and parts[0] == "super":
        parts, level = parts[1:], level + 1
    return parts, (level if level > 1 else 0)


def _rust_imports(source: bytes, stmt: Any, module: Any, line: int) -> list[Import]:
    if stmt.type == "mod_item":
        return [Import(_text(source, module), line, relative_level=1)]
    if stmt.type == "extern_crate_declaration":
        return [Import(_text(source, module), line)]
    leaves = _rust_use_leaves(source, module, [])
    if len(leaves) == 1 and leaves[0][1] is not None:
        parts, level = _rust_relative(leaves[0][0])
        return [Import(".".join(parts), line, relative_level=level, alias=leaves[0][1])]
    grouped: dict[tuple[str, int], tuple[list[str], list[tuple[str, str]]]] = {}
    for parts, alias in leaves:
        path, level = _rust_relative(parts[:-1])
        names, renames = grouped.setdefault((".".join(path), level), ([], []))
        if parts and parts[-1] not in names:
            names.append(parts[-1])
        if parts and alias is not None:
            renames.append((parts[-1], alias))
    return [
        Import(mod, line, tuple(names), level, renames=tuple(renames))
        for (mod, level), (names, renames) in grouped.items()
    ]


def _make_imports(
    language: str,
    source: bytes,
    stmt: Any,
    module: Any,
    names: list[str],
    alias: str | None,
    renames: list[tuple[str, str]],
) -> list[Import]:
    line = stmt.start_point.row + 1
    if language == "rust":
        return _rust_imports(source, stmt, module, line)
    text = _text(source, module)
    level = 0
    system = False
    if language == "python":
        stripped = text.lstrip(".")
        level, text = len(text) - len(stripped), _WHITESPACE.sub("", stripped)
    elif language in ("javascript", "typescript", "tsx"):
        text, level = _path_relative(text)
    elif language == "ruby":
        method = stmt.child_by_field_name("method")
        if method is not None and _text(source, method) == "require_relative":
            text, level = _path_relative(text if text.startswith(".") else "./" + text)
    elif language in ("c", "cpp"):
        if module.type == "system_lib_string":
            text, system = text.strip("<>").strip(), True
    elif language == "java":
        text = _WHITESPACE.sub("", text)
        kinds = {c.type for c in stmt.children}
        if "asterisk" in kinds:
            names = ["*"]
        elif "static" in kinds and "." in text:
            text, member = text.rsplit(".", 1)
            names = [member]
    elif language == "csharp":
        text = _WHITESPACE.sub("", text).replace("::", ".")
    return [Import(text, line, tuple(names), level, alias, system, tuple(renames))]


# -- the loop -----------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Def:
    start: int  # bytes
    end: int
    name: str
    kind: str
    start_line: int
    end_line: int
    own: list[str]  # explicit owner and the name's own qualifying parts
    path: list[str]  # qualified name parts (filled in by nesting)
    qualified: str = ""  # ".".join(path)


def _nest(defs: list[_Def], class_like: frozenset[str]) -> list[Definition]:
    """Give each definition its scope from the definitions around it (byte ranges nest), sorted by position."""
    defs.sort(key=lambda d: (d.start, -d.end))
    stack: list[_Def] = []
    out: list[Definition] = []
    for d in defs:
        while stack and (stack[-1].end < d.end or (stack[-1].start, stack[-1].end) == (d.start, d.end)):
            stack.pop()  # ended before d, or d's sibling over the same node (Go `const X, Y = 1, 2`)
        parent = stack[-1] if stack and stack[-1].start <= d.start else None
        if d.own and parent is not None and parent.path[-len(d.own) :] == d.own:
            d.own = []  # Ruby `def Invoice.build` inside class Invoice: the owner is already the scope
        scope = (parent.path if parent is not None else []) + d.own
        d.path = scope + [d.name]
        d.qualified = ".".join(d.path)
        if d.kind == "function" and (
            d.own or (parent is not None and (parent.kind in class_like or parent.kind == _CONTAINER_KIND))
        ):
            d.kind = "method"
        if d.kind != _CONTAINER_KIND:
            out.append(Definition(d.name, d.kind, d.start_line, d.end_line, ".".join(scope) or None))
        stack.append(d)
    return out


def _merge_ranges(ranges: list[tuple[int, int]]) -> tuple[list[int], list[int]]:
    """Disjoint sorted (starts, ends) covering ``ranges``."""
    starts: list[int] = []
    ends: list[int] = []
    for s, e in sorted(ranges):
        if ends and s <= ends[-1]:
            ends[-1] = max(ends[-1], e)
        else:
            starts.append(s)
            ends.append(e)
    return starts, ends


def extract(language: str, tree: Any, source: bytes) -> FileGraph:
    """The code graph facts of one parsed file.

    Args:
        language: language id with a grammar (:data:`codegraph.languages.LANGUAGES`).
        tree: the ``tree_sitter.Tree`` of ``source`` (the chunker's: nothing is parsed again).
        source: the bytes ``tree`` was parsed from (names are sliced from them).

    Returns:
        Definitions, references and imports, each in source order. Syntax errors leave what the grammar
        recovered; extraction never raises for a file's content.

    Raises:
        KeyError: ``language`` has no grammar.
    """
    import tree_sitter

    plan = _plan(language)
    patterns = plan.patterns
    class_like = _CLASS_LIKE_BY_LANGUAGE.get(language, CLASS_LIKE_KINDS)

    defs: dict[tuple[int, int], tuple[tuple[bool, int], Any, Any, str, Any]] = {}  # by name node (or container)
    refs: dict[int, tuple[int, Any, str, list[Any] | None]] = {}  # by name start: rank, node, kind, qualifier
    imports: dict[int, list[Any]] = {}  # by module node start
    locals_: dict[str, list[tuple[int, int]]] = {}
    ignored: list[tuple[int, int]] = []
    not_refs: set[int] = set()

    for pattern, captures in tree_sitter.QueryCursor(plan.query).matches(tree.root_node):
        what, kind, name_capture, node_capture, rank = patterns[pattern]
        found_nodes = captures.get(name_capture)
        if not found_nodes:
            continue
        node = found_nodes[0]
        if what == _REF:
            # A name seen by several patterns keeps the most specific kind, then the match with a qualifier.
            qualifiers = captures.get("qualifier")
            if qualifiers:
                rank += 1
            start = node.start_byte
            found = refs.get(start)
            if found is None or rank > found[0]:
                refs[start] = (rank, node, kind, qualifiers)
        elif what == _DEF:
            # One definition per name node: where two patterns claim it (a C struct inside a typedef), the one
            # with an explicit owner wins, then the earlier pattern.
            scope = captures.get("scope")
            def_rank = (scope is not None, -pattern)
            def_key = (node.start_byte, node.end_byte)
            best = defs.get(def_key)
            holders = captures.get(node_capture)
            if holders and (best is None or def_rank > best[0]):
                defs[def_key] = (def_rank, holders[0], node, kind, scope)
        elif what == _IMPORT:
            stmts = captures.get("reference.import")
            stmt = stmts[0] if stmts else node
            entry = imports.get(node.start_byte)
            if entry is None:
                imports[node.start_byte] = entry = [stmt, node, [], None, []]
            elif stmt.start_byte < entry[0].start_byte:
                entry[0] = stmt
            name = ""
            for name_node in captures.get("import.name", ()):
                name = _text(source, name_node)
                if name not in entry[2]:
                    entry[2].append(name)
            if "import.local" in captures and name:
                rename = (name, _text(source, captures["import.local"][0]))
                if rename not in entry[4]:
                    entry[4].append(rename)
            if "import.alias" in captures:
                entry[3] = _text(source, captures["import.alias"][0])
        elif what == _CONTAINER:
            holders = captures.get(node_capture)
            if holders:
                key = (holders[0].start_byte, -holders[0].end_byte)
                defs.setdefault(key, ((False, -pattern), holders[0], node, kind, None))
        elif what == _LOCAL:
            holders = captures.get(node_capture)
            if holders:
                span = (holders[0].start_byte, holders[0].end_byte)
                for name_node in found_nodes:
                    locals_.setdefault(_text(source, name_node), []).append(span)
                    not_refs.add(name_node.start_byte)
        else:
            ignored += [(n.start_byte, n.end_byte) for n in found_nodes]

    # Definitions: names split into owner parts and the name, then nested by byte range.
    pending: list[_Def] = []
    for _rank, node, name_node, kind, scope in defs.values():
        if kind == _CONTAINER_KIND:
            own, name = _scope_parts(_text(source, name_node)), ""
            if own:
                name = own.pop()
        else:
            own, name = _split_name(_text(source, name_node))
        if not name:
            continue
        if scope is not None:
            own = _scope_parts(_text(source, scope[0])) + own
        start_line = node.start_point.row + 1
        end, end_line = node.end_byte, _end_line(node)
        if node.type in _HOLDS_WHAT_FOLLOWS and node.parent is not None:
            end, end_line = node.parent.end_byte, _end_line(node.parent)
        pending.append(_Def(node.start_byte, end, name, kind, start_line, end_line, own, []))
    definitions = _nest(pending, class_like)
    # A definition's name is not a reference, nor is anything inside it (`Client` in C++ `Client<T>::flush`).
    for _r, _n, name_node, _k, _s in defs.values():
        if name_node.child_count:
            ignored.append((name_node.start_byte, name_node.end_byte))
        else:
            not_refs.add(name_node.start_byte)

    # References: drop local names and ignored ranges; find the innermost enclosing definition (a sweep over the
    # definitions in start order, keeping those that may still contain what comes next).
    ignore_starts, ignore_ends = _merge_ranges(ignored)
    references: list[Reference] = []
    stack: list[_Def] = []
    next_def, n_defs = 0, len(pending)
    for start in sorted(refs):
        if start in not_refs:
            continue
        _, name_node, kind, qualifiers = refs[start]
        end = name_node.end_byte
        if ignore_starts:
            at = bisect_right(ignore_starts, start) - 1
            if at >= 0 and end <= ignore_ends[at]:
                continue
        name = source[start:end].decode("utf-8", "replace")
        if kind == "type" and qualifiers is None and name in locals_:
            if any(s <= start and end <= e for s, e in locals_[name]):
                continue
        while next_def < n_defs and pending[next_def].start <= start:
            stack.append(pending[next_def])
            next_def += 1
        while stack and not (stack[-1].start <= start and end <= stack[-1].end):
            stack.pop()
        enclosing = stack[-1].qualified if stack else None
        qualifier = None
        if qualifiers is not None:
            node = qualifiers[0]
            qualifier = source[node.start_byte : node.end_byte].decode("utf-8", "replace")
            if not qualifier.isidentifier():
                qualifier = _qualifier(qualifier) or COMPLEX_RECEIVER
        references.append(Reference(name, kind, name_node.start_point.row + 1, enclosing, qualifier))

    out_imports: list[Import] = []
    for stmt, module, names, alias, renames in sorted(
        imports.values(), key=lambda e: (e[0].start_byte, e[1].start_byte)
    ):
        out_imports += _make_imports(language, source, stmt, module, names, alias, renames)

    return FileGraph(language, tuple(definitions), tuple(references), tuple(out_imports))


def extract_source(path: str, language: str, text: str) -> FileGraph:
    """Parse ``text`` and :func:`extract` it (for tests and tools; the indexer reuses the chunker's tree).

    Args:
        path: the file's path (unused today; kept so callers name the file, as :func:`chunk_source` does).
        language: language id with a grammar.
        text: the file's text.
    """
    del path
    source = text.encode("utf-8")
    return extract(language, ts_parser(language).parse(source), source)

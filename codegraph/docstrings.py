"""Documented functions: find them, turn the first sentence of their doc into a query, strip the docs.

This is the CodeSearchNet recipe (Husain et al., 2019, "CodeSearchNet Challenge: Evaluating the State of Semantic
Code Search", arXiv:1909.09436): a documented function gives one (query, code) pair, the query being the first
sentence of its doc comment and the code the function with that comment removed. The cleaning follows the dev
benchmark's method (``shared/eval/README.md``, "Method") so that mined training queries read like its queries.

Doc comments recognised, per language id (:mod:`codegraph.languages`):

- ``python``: the docstring (first statement of the body, a plain string literal).
- ``javascript`` / ``typescript`` / ``tsx`` / ``java``: one ``/** ... */`` block right above the definition (one
  blank line allowed in JavaScript/TypeScript); decorators and lint directives may sit in between.
- ``go``: the ``//`` lines right above ``func`` (``//go:`` and ``//nolint`` directives are not doc).
- ``rust``: ``///`` lines or one ``/** */`` block above ``fn``, attributes in between allowed.
- ``ruby``: the ``#`` lines right above ``def``.
- ``csharp``: ``///`` lines (the ``<summary>``) or one ``/** */`` block above a method.

Definitions and their qualified symbols come from codegraph's own definitions queries
(``codegraph/chunk/queries/*.scm``), with the chunker's rules for wrappers, scopes and methods, so a pair's
``(kind, qualified_symbol)`` is what ``codegraph index`` would record for the same function.
"""

from __future__ import annotations

import ast
import html
import inspect
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .chunk.grammars import query_matches, ts_parser
from .chunk.nodes import Nested, end_row, node_text

MIN_BODY_LINES = 3
"""Fewest code lines (non-blank, non-comment, not a lone bracket or ``end``) a candidate's body must have."""

DOC_LANGUAGES: tuple[str, ...] = ("python", "javascript", "typescript", "tsx", "go", "rust", "ruby", "java", "csharp")
"""Language ids whose doc comments :func:`find_documented` understands."""

_JS_LIKE = frozenset({"javascript", "typescript", "tsx"})
# The chunker's wrappers (codegraph/chunk/chunker.py): a definition is widened to these parents.
_WRAPPERS = frozenset(
    {"decorated_definition", "export_statement", "lexical_declaration", "variable_declaration", "expression_statement"}
)
_COMMENTS = frozenset({"comment", "line_comment", "block_comment"})
_ATTRIBUTES = frozenset({"decorator", "attribute_item"})
_CLOSERS = frozenset({"}", "};", "})", "});", "},", ")", "]", "end"})
_DIRECTIVE = re.compile(
    r"^(//go:|//nolint|// ?\+build|//export |//line |//lint:|//sys |"  # Go
    r"//\s*(eslint|@ts-|istanbul|prettier-ignore|jshint|c8 |\$FlowFixMe|noinspection)|"  # JavaScript / TypeScript
    r"/\*\s*(eslint|istanbul|c8 |prettier-ignore|jshint|global)|"
    r"#\s*(rubocop:|frozen_string_literal:|typed:|-\*-|encoding:))"  # Ruby
)


@dataclass(frozen=True, slots=True)
class DocumentedDef:
    """A documented function or method that qualifies as a (query, code) pair.

    Attributes:
        path: repository-relative POSIX path.
        language: language id.
        kind: ``"function"`` or ``"method"`` (as codegraph's chunker labels it).
        symbol: bare name (``"get"``).
        qualified_symbol: enclosing classes/modules, receiver or impl type and name joined with ``"."``
            (``"Session.get"``, ``"Client.Do"``, ``"Vec.push"``), like :attr:`codegraph.types.Chunk.qualified_symbol`.
        start_line: first line of the definition (1-based; decorators/attributes included, doc comment excluded).
        end_line: last line of the definition (1-based, inclusive).
        doc_lines: first and last line (1-based, inclusive) of the doc comment: deleting these whole lines removes
            it (a Python docstring inside the body, otherwise the comment block above, possibly between an
            attribute and the definition).
        query: the cleaned first sentence of the doc (:func:`first_sentence`); ``""`` when there is none. Not
            filtered: check it with :func:`query_ok`.
        code: lines ``start_line..end_line`` without ``doc_lines``, joined with ``"\\n"``.
    """

    path: str
    language: str
    kind: str
    symbol: str
    qualified_symbol: str
    start_line: int
    end_line: int
    doc_lines: tuple[int, int]
    query: str
    code: str


@dataclass(slots=True, eq=False)
class _Def(Nested):
    node: Any  # the captured definition node
    wide: Any  # widened to its wrappers (decorators, export, const x = ...)
    kind: str  # function | method | class | module
    name: str | None
    explicit_scope: str | None
    parent: _Def | None = None
    children: list[_Def] = field(default_factory=list)


def _widen(node: Any) -> Any:
    while node.parent is not None and node.parent.type in _WRAPPERS:
        parent = node.parent
        if sum(1 for c in parent.named_children if c.type == "variable_declarator") > 1:
            break
        node = parent
    return node


def _definitions(language: str, root: Any) -> list[_Def]:
    """Definitions of the language's query, nested by byte range (mirrors the chunker's ``_collect_defs``)."""
    seen: dict[tuple[int, int], _Def] = {}
    for _pattern, caps in query_matches(language, root):
        kind, node = "", None
        for cap in ("definition.function", "definition.method", "definition.class", "definition.module"):
            if cap in caps:
                kind, node = cap.split(".", 1)[1], caps[cap][0]
                break
        if node is None:
            continue
        name_nodes = caps.get("name")
        name = (node_text(name_nodes[0]).strip().strip("'\"") or None) if name_nodes else None
        if name and kind in ("class", "module"):
            name = name.split("<", 1)[0].strip()
        scope_nodes = caps.get("scope")
        wide = _widen(node)
        key = (wide.start_byte, wide.end_byte)
        if key in seen and (seen[key].explicit_scope or not scope_nodes):
            continue
        seen[key] = _Def(
            node=node,
            wide=wide,
            kind="function" if kind == "method" and not scope_nodes else kind,
            name=name,
            explicit_scope=node_text(scope_nodes[0]) if scope_nodes else None,
        )
    defs = sorted(seen.values(), key=lambda d: (d.wide.start_byte, -d.wide.end_byte))
    stack: list[_Def] = []
    for d in defs:
        while stack and stack[-1].wide.end_byte < d.wide.end_byte:
            stack.pop()
        if stack and stack[-1].wide.start_byte <= d.wide.start_byte:
            d.parent = stack[-1]
            stack[-1].children.append(d)
        stack.append(d)
    return defs


def _whole_line(node: Any, blines: list[bytes]) -> bool:
    """True when nothing but whitespace shares the node's first and last line with it."""
    start, end = node.start_point, node.end_point
    if blines[start.row][: start.column].strip():
        return False
    last = end_row(node)
    if last == end.row and end.row < len(blines) and blines[end.row][end.column :].strip():
        return False
    return True


def _comment_role(language: str, text: str) -> str | None:
    """``"line"`` (a doc line that joins its neighbours), ``"block"`` (a doc block on its own), ``"attr"`` (a
    directive that may sit between doc and definition) or ``None`` (any other comment: not a doc)."""
    if _DIRECTIVE.match(text):
        return "attr"
    is_block = text.startswith("/**") and not text.startswith(("/***", "/**/"))
    if language in _JS_LIKE or language == "java":
        return "block" if is_block else None
    if language in ("rust", "csharp"):
        if text.startswith("///") and not text.startswith("////"):
            return "line"
        return "block" if is_block else None
    if language == "go":
        return "line" if text.startswith("//") else ("block" if text.startswith("/*") else None)
    if language == "ruby":
        return "line" if text.startswith("#") and not text.startswith("#!") else None
    return None


def _preceding(node: Any) -> Any:
    """The sibling before ``node``, climbing out of parents that start where it starts (Ruby puts the comments
    above a class's first method outside the ``body_statement`` that holds the method)."""
    while node.prev_sibling is None and node.parent is not None and node.parent.start_byte == node.start_byte:
        node = node.parent
    return node.prev_sibling


def _doc_text(language: str, texts: list[str]) -> str:
    """Doc text of comment nodes (top to bottom) with the comment markers removed."""
    out: list[str] = []
    for text in texts:
        text = text.rstrip("\r\n")
        if text.startswith("/*"):
            body = text[3:] if text.startswith("/**") else text[2:]
            body = body.removesuffix("*/")
            for line in body.split("\n"):
                line = line.strip()
                if line.startswith("*"):
                    line = line[1:].removeprefix(" ")
                out.append(line.rstrip())
            continue
        marker = re.match(r"///?|#+", text)
        line = text[marker.end() if marker else 0 :]
        out.append(line.removeprefix(" ").rstrip())
    doc = "\n".join(out).strip("\n")
    if language == "csharp":
        summary = re.search(r"<summary>(.*?)</summary>", doc, re.S)
        if summary:
            doc = summary.group(1).strip("\n")
    return doc


@dataclass(slots=True)
class _Doc:
    text: str
    rows: tuple[int, int]  # 0-based inclusive
    removable: bool
    start_row: int  # first row of the definition (attributes included)


def _doc_above(language: str, d: _Def, blines: list[bytes]) -> _Doc | None:
    top = d.wide.start_point.row
    start_row = top
    docs: list[Any] = []  # comment nodes, bottom to top
    doc_role = ""
    attr_between = False
    gap_left = 1 if language in _JS_LIKE else 0
    cur = _preceding(d.wide)
    while cur is not None and (cur.type in _COMMENTS or cur.type in _ATTRIBUTES):
        last = end_row(cur)
        if last != top - 1:
            if not (gap_left and not docs and last == top - 2 and not blines[top - 1].strip()):
                break
            gap_left = 0
        if not _whole_line(cur, blines):
            break
        role = "attr" if cur.type in _ATTRIBUTES else _comment_role(language, node_text(cur))
        if role is None or (role != "attr" and docs and (role == "block" or doc_role == "block")):
            break
        if role == "attr":
            start_row = min(start_row, cur.start_point.row)
            attr_between = attr_between or bool(docs)
        else:
            if docs and attr_between:
                return _Doc("", (0, 0), False, start_row)  # doc lines split by an attribute
            docs.append(cur)
            doc_role = role
        top = cur.start_point.row
        cur = _preceding(cur)
    if not docs:
        return None
    docs.reverse()
    rows = (docs[0].start_point.row, end_row(docs[-1]))
    return _Doc(_doc_text(language, [node_text(c) for c in docs]), rows, True, start_row)


def _python_doc(d: _Def, blines: list[bytes]) -> _Doc | None:
    body = d.node.child_by_field_name("body")
    if body is None:
        return None
    first = next((c for c in body.named_children if c.type != "comment"), None)
    if first is None or first.type != "expression_statement" or first.named_child_count != 1:
        return None
    string = first.named_children[0]
    if string.type != "string":
        return None
    try:
        value = ast.literal_eval(node_text(string))
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None
    if not isinstance(value, str):
        return None
    rows = (first.start_point.row, end_row(first))
    suffix = blines[rows[1]][first.end_point.column :].strip() if first.end_point.row == rows[1] else b""
    removable = (
        not blines[rows[0]][: first.start_point.column].strip()
        and (not suffix or suffix.startswith(b"#"))
        and rows[0] > d.node.start_point.row
    )
    return _Doc(inspect.cleandoc(value), rows, removable, d.wide.start_point.row)


def _function_node(node: Any) -> Any:
    """The node that has the function's ``body`` (``const f = () => ...``: the arrow function)."""
    if node.child_by_field_name("body") is not None:
        return node
    for name in ("value", "right"):
        value = node.child_by_field_name(name)
        if value is not None and value.child_by_field_name("body") is not None:
            return value
    return node


def _body_lines(language: str, d: _Def, lines: list[str], doc_rows: tuple[int, int]) -> int:
    """Code lines of the body: not blank, not a comment, not a lone closing bracket or ``end``, not the doc."""
    body = _function_node(d.node).child_by_field_name("body")
    if body is None:
        return 0
    first, last = body.start_point.row, end_row(body)
    if body.text is not None and body.text.startswith(b"{"):
        first, last = first + 1, last - 1
    prefixes = ("#",) if language in ("python", "ruby") else ("//", "/*", "*")
    count = 0
    for row in range(first, min(last, len(lines) - 1) + 1):
        if doc_rows[0] <= row <= doc_rows[1]:
            continue
        text = lines[row].strip()
        if text and not text.startswith(prefixes) and text not in _CLOSERS:
            count += 1
    return count


def find_documented(
    path: str,
    language: str,
    source: str,
    *,
    min_body_lines: int = MIN_BODY_LINES,
    drops: Counter[str] | None = None,
) -> list[DocumentedDef]:
    """Documented functions and methods of one file that qualify as (query, code) pairs.

    A documented definition qualifies when it is not nested in another function, its doc comment can be removed
    as whole lines, and its body has at least ``min_body_lines`` code lines. Its query is not filtered here.

    Args:
        path: repository-relative POSIX path (recorded in the results).
        language: language id; languages outside :data:`DOC_LANGUAGES` give ``[]``.
        source: the file's text.
        min_body_lines: fewest code lines in the body (blank, comment, lone-bracket and doc lines not counted).
        drops: if given, counts the documented definitions left out, by reason: ``"nested"``,
            ``"doc_not_removable"``, ``"body_short"``.

    Returns:
        Qualifying definitions in source order; lines 1-based inclusive.
    """
    if language not in DOC_LANGUAGES or not source:
        return []
    data = source.encode("utf-8", "surrogatepass")
    tree = ts_parser(language).parse(data)
    blines = data.split(b"\n")
    lines = [line.removesuffix("\r") for line in source.split("\n")]
    out: list[DocumentedDef] = []
    for d in _definitions(language, tree.root_node):
        if not d.is_function or not d.name:
            continue
        doc = _python_doc(d, blines) if language == "python" else _doc_above(language, d, blines)
        if doc is None:
            continue
        reason = ""
        if d.in_function():
            reason = "nested"
        elif not doc.removable:
            reason = "doc_not_removable"
        elif _body_lines(language, d, lines, doc.rows) < min_body_lines:
            reason = "body_short"
        if reason:
            if drops is not None:
                drops[reason] += 1
            continue
        scope = d.scope_path()
        owner = d.parent
        kind = "method" if d.kind == "method" or (owner is not None and owner.kind == "class") else "function"
        qualified = ".".join([*scope, d.name])
        start, end = doc.start_row, end_row(d.wide)
        code = "\n".join(lines[row] for row in range(start, end + 1) if not doc.rows[0] <= row <= doc.rows[1])
        out.append(
            DocumentedDef(
                path=path,
                language=language,
                kind=kind,
                symbol=d.name,
                qualified_symbol=qualified,
                start_line=start + 1,
                end_line=end + 1,
                doc_lines=(doc.rows[0] + 1, doc.rows[1] + 1),
                query=first_sentence(doc.text, language, symbol=qualified),
                code=code,
            )
        )
    return out


def strip_docs(source: str, defs: Sequence[DocumentedDef]) -> str:
    """The file's text with the doc comments of ``defs`` deleted (whole lines; other lines unchanged).

    Args:
        source: the text ``defs`` were found in.
        defs: definitions from :func:`find_documented` on ``source``.
    """
    drop: set[int] = set()
    for d in defs:
        drop.update(range(d.doc_lines[0] - 1, d.doc_lines[1]))
    return "\n".join(line for row, line in enumerate(source.split("\n")) if row not in drop)


# --------------------------------------------------------------------------------------------------------------
# Query cleaning
# --------------------------------------------------------------------------------------------------------------
_ABBREVIATIONS = ("e.g.", "i.e.", "etc.", "vs.", "cf.", "approx.", "resp.", "incl.", "Mr.", "No.", "ie.", "eg.")
_SECTION = re.compile(
    r"^\s*(:param|:return|:rtype|:raises|:type|:ivar|:cvar|>>>|\.\. |args:|arguments:|returns?:|raises:|"
    r"parameters\b|examples?:?$|@\w|#\s|```|panics$|call-seq:)",
    re.I,
)
_BOILERPLATE = re.compile(
    r"^(deprecated|todo|fixme|xxx|hack|note\b|nb\b|see\b|alias\b|an alias|same as|shorthand|shortcut|"
    r"this is a private|private\b|internal\b|for internal|used internally|do not use|don't use|"
    r"overrides?\b|copied from|inherited|implements?\b|implementation of the \w+ interface|"
    r"wrapper (for|around)|this (function|method) is deprecated|returns? self\b|example\b|"
    r"panics\b|safety\b|unsafe\b|\(?experimental)",
    re.I,
)
_MARKUP: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),  # markdown link
    (re.compile(r"\[([^\]]+)\]\[[^\]]*\]"), r"\1"),  # markdown reference link
    (re.compile(r"``([^`]+)``"), r"\1"),  # reST inline literal
    (re.compile(r"`(\w[^`]*)`_(?=[\s,;:)]|\.(?:\s|$)|$)"), r"\1"),  # reST hyperlink `text`_
    (re.compile(r"\[`(\w[^`\]]*)`\]"), r"\1"),  # rustdoc intra-doc link [`Foo`]
    (re.compile(r"\[([A-Za-z_][\w.:*]*)\]"), r"\1"),  # Go doc link / [Foo]
    (re.compile(r"`+"), ""),
    (re.compile(r"\*\*([^*]+)\*\*"), r"\1"),
    (re.compile(r"(?<![\w*])\*([^*\s][^*]*)\*(?![\w*])"), r"\1"),
    (re.compile(r"</?[a-zA-Z][^>]*>"), ""),  # HTML tags
)


def _clean_markup(text: str, language: str) -> str:
    text = html.unescape(text)
    text = re.sub(
        r"\{@(?:link|linkcode|linkplain)\s+([^}|\s]+)(?:[|\s]+([^}]*))?\}",
        lambda m: (m.group(2) or m.group(1)).strip(),
        text,
    )
    text = re.sub(r"\{@(?:code|literal)\s+([^}]*)\}", r"\1", text)
    text = re.sub(
        r"<(?:see|seealso|paramref|typeparamref)\s+(?:cref|name|langword)=\"(?:\w:)?([^\"]*)\"\s*/>",
        lambda m: m.group(1).split(".")[-1],
        text,
    )
    # reST roles: :class:`~a.b.C` -> C, :func:`foo` -> foo
    text = re.sub(
        r":[a-zA-Z:]+:`~?([^`<]*?)(?:\s*<[^>]*>)?`",
        lambda m: m.group(1).split(".")[-1] if "~" in m.group(0) else m.group(1),
        text,
    )
    if language == "ruby":
        text = re.sub(r"(?<!\w)\+(\S[^+]*?)\+(?!\w)", r"\1", text)  # RDoc +code+
    for pattern, replacement in _MARKUP:
        text = pattern.sub(replacement, text)
    return re.sub(r"\s+", " ", text).strip()


def _drop_leading_symbol(sentence: str, symbol: str | None) -> str:
    """``"NewClient returns a new client"`` -> ``"Returns a new client"``; ``"Foo is a ..."`` -> ``"A ..."``."""
    if not symbol:
        return sentence
    head, _, rest = sentence.partition(" ")
    if not rest:
        return sentence
    word = head.strip("`'\"*:,()")
    parts = symbol.split(".")
    names = {symbol, parts[-1], "::".join(parts), ".".join(parts[-2:]), "::".join(parts[-2:])}
    if word not in names and word.removesuffix("()") not in names:
        return sentence
    if rest.startswith(("is ", "are ")):
        rest = rest.split(" ", 1)[1]
    return rest[:1].upper() + rest[1:]


def first_sentence(doc: str, language: str, *, symbol: str | None = None) -> str:
    """The query a doc comment gives: the first sentence of its first paragraph, cleaned.

    The paragraph ends at a blank line, a reST field or directive, a Google/NumPy section (``Args:``,
    ``Parameters``), a JSDoc/YARD ``@tag``, a Markdown heading or fence, a doctest, or (Go, Ruby) an indented code
    line. Tag-first JSDoc (``@name ... @summary ...``) uses its ``@summary`` (else ``@description``). Markup is
    removed: ``{@link X}``, ``{@code X}``, reST roles and literals, backticks, Markdown and intra-doc links,
    emphasis, HTML tags and entities, C# ``<see cref>``. A leading ``symbol`` name is dropped
    (``"NewClient returns ..."`` -> ``"Returns ..."``) and trailing ``:;,`` are trimmed.

    Args:
        doc: doc comment text with the comment markers removed (a docstring's value, dedented).
        language: language id.
        symbol: qualified symbol of the documented definition (its bare name is the last dotted part).

    Returns:
        The sentence, or ``""`` when the doc has none.
    """
    if language in _JS_LIKE and doc.lstrip().startswith("@"):
        tagged = re.search(r"^@summary\s+(.*?)(?=^\s*@|\Z)", doc, re.M | re.S) or re.search(
            r"^@description\s*(.*?)(?=^\s*@|\Z)", doc, re.M | re.S
        )
        doc = tagged.group(1) if tagged else ""
    para: list[str] = []
    for line in doc.strip().splitlines():
        if not line.strip():
            if para:
                break
            continue
        if _SECTION.match(line):
            break
        if (language == "go" and line.startswith(("\t", "    "))) or (language == "ruby" and line.startswith("  ")):
            break
        para.append(line.strip())
    text = _clean_markup(" ".join(para), language)
    for abbreviation in _ABBREVIATIONS:
        text = text.replace(abbreviation, abbreviation.replace(".", "\x00"))
    end = re.search(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[])", text)
    if end:
        text = text[: end.start()]
    sentence = text.replace("\x00", ".").strip()
    return _drop_leading_symbol(sentence, symbol).rstrip(" :;,")


def query_issue(query: str) -> str | None:
    """Why a query is not usable, or ``None`` when it is.

    Returns:
        ``"short"`` (fewer than 5 words), ``"long"`` (more than 60 whitespace tokens), ``"boilerplate"``
        (starts like "Deprecated", "See ...", "Alias ...", "Implements ...", "TODO", ...), ``"url"``, ``"code"``
        (more than half of the tokens look like code), ``"start"`` (does not start with a letter or quote), or
        ``None``.
    """
    words = re.findall(r"[A-Za-z][A-Za-z0-9'_-]*", query)
    if len(words) < 5:
        return "short"
    tokens = query.split()
    if len(tokens) > 60:
        return "long"
    if _BOILERPLATE.search(query):
        return "boilerplate"
    if re.search(r"https?://|www\.", query):
        return "url"
    if sum(1 for t in tokens if re.search(r"[(){}=<>\[\]_]|::|\w\.\w", t)) > len(tokens) / 2:
        return "code"
    if not re.match(r"[A-Za-z\"'(]", query):
        return "start"
    return None


def query_ok(query: str) -> bool:
    """True when :func:`query_issue` finds nothing wrong with ``query``."""
    return query_issue(query) is None


def normalize_query(query: str) -> str:
    """Lower-cased alphanumeric words joined by one space: the form in which queries are compared."""
    return " ".join(re.findall(r"[a-z0-9]+", query.lower()))

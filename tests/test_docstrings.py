"""Doc-comment extraction (codegraph.docstrings) on small real snippets, parsed with the real grammars."""

from __future__ import annotations

import ast
from collections import Counter
from textwrap import dedent

import pytest

from codegraph.chunk import chunk_source
from codegraph.docstrings import DocumentedDef, find_documented, first_sentence, query_issue, query_ok, strip_docs

PYTHON = dedent('''\
    import os


    @decorator
    def top(a, b):
        """Add two numbers and return the sum.

        Args:
            a: first.
        """
        x = a + b
        y = x * 2
        return y


    class Session:
        def get(self, url):
            """Send a GET request to the given :class:`~requests.URL` object."""
            # comment
            r = self.request("GET", url)
            r.check()
            return r

        def short(self):
            """Too short to be a candidate here."""
            return 1

        def outer(self):
            """Outer function with an inner helper."""
            def inner():
                """Inner functions are nested, never candidates."""
                a = 1
                b = 2
                return a + b
            return inner()

        def inline(self): "Docstring on the def line is not removable."; a = 1; b = 2; c = 3
''')

JAVASCRIPT = dedent("""\
    /**
     * Parse the options object and return a normalised copy.
     * @param {Object} opts
     */
    function parseOptions(opts) {
      const out = {};
      out.a = opts.a;
      return out;
    }

    /** Create a new widget from the given spec. */

    export const makeWidget = (spec) => {
      const w = new Widget(spec);
      w.init();
      return w;
    };

    class Queue {
      /**
       * Push an item onto the end of the {@link Queue}.
       */
      push(item) {
        this.items.push(item);
        this.length++;
        return this;
      }
    }

    module.exports = {
      /**
       * Join all values of the array with a separator.
       */
      join: function (arr, sep) {
        let s = '';
        for (const x of arr) s += x + sep;
        return s;
      },
    };

    /**
     * @name compute
     * @summary Computes the foo of a bar for display.
     */
    Foo.prototype.compute = function () {
      var a = 1;
      var b = 2;
      return a + b;
    };

    // A line comment is not JSDoc, so this is not documented.
    function plain() {
      a();
      b();
      c();
    }
""")

TYPESCRIPT = dedent("""\
    export class Store {
      /**
       * Returns the value stored under the key, or the default.
       */
      @memoize()
      get<T>(key: string, fallback: T): T {
        const v = this.map.get(key);
        if (v === undefined) return fallback;
        return v as T;
      }
    }
""")

GO = dedent("""\
    package x

    // NewClient returns a new client with the given options set.
    //
    // It panics on nil.
    //go:noinline
    func NewClient(opts Options) *Client {
    \tc := &Client{}
    \tc.opts = opts
    \treturn c
    }

    // Do sends an HTTP request and returns an HTTP response.
    func (c *Client) Do(req *Request) (*Response, error) {
    \tresp, err := c.send(req)
    \tif err != nil {
    \t\treturn nil, err
    \t}
    \treturn resp, nil
    }

    // Close is too short.
    func (c *Client) Close() error {
    \treturn nil
    }
""")

RUST = dedent("""\
    impl<T> Vec<T> {
        /// Appends an element to the back of a collection.
        ///
        /// # Panics
        #[inline]
        pub fn push(&mut self, value: T) {
            let len = self.len;
            self.reserve(1);
            self.len = len + 1;
        }
    }

    #[cfg(feature = "std")]
    /// Reads the whole file into a [`String`] buffer.
    pub fn read_all(path: &str) -> String {
        let mut s = String::new();
        let f = open(path);
        f.read_to_string(&mut s);
        s
    }
""")

RUBY = dedent("""\
    module Rouge
      class Lexer
        # Guess the lexer to use from the given source text.
        #
        # @param [String] source
        def self.guess(source)
          lexers = all
          lexers.select! { |l| l.detect?(source) }
          lexers.first
        end
      end
    end
""")

JAVA = dedent("""\
    class Stack {
        /**
         * Pushes an item onto the top of this stack, see {@code Vector}.
         * @param item the item
         */
        @Override
        public E push(E item) {
            addElement(item);
            count++;
            return item;
        }
    }
""")

CSHARP = dedent("""\
    class Stack {
        /// <summary>
        /// Removes and returns the object at the top of the <see cref="Stack"/>.
        /// </summary>
        public T Pop() {
            var x = items[n];
            n--;
            return x;
        }
    }
""")


def _summary(defs: list[DocumentedDef]) -> list[tuple[str, str, int, int, tuple[int, int], str]]:
    return [(d.kind, d.qualified_symbol, d.start_line, d.end_line, d.doc_lines, d.query) for d in defs]


def test_python_docstrings() -> None:
    drops: Counter[str] = Counter()
    defs = find_documented("pkg/mod.py", "python", PYTHON, drops=drops)
    assert _summary(defs) == [
        ("function", "top", 4, 13, (6, 10), "Add two numbers and return the sum."),
        ("method", "Session.get", 17, 22, (18, 18), "Send a GET request to the given URL object."),
        ("method", "Session.outer", 28, 35, (29, 29), "Outer function with an inner helper."),
    ]
    assert drops == {"body_short": 1, "nested": 1, "doc_not_removable": 1}
    assert defs[0].code == "@decorator\ndef top(a, b):\n    x = a + b\n    y = x * 2\n    return y"
    assert defs[0].path == "pkg/mod.py" and defs[0].language == "python" and defs[0].symbol == "top"
    stripped = strip_docs(PYTHON, defs)
    ast.parse(stripped)
    assert "Add two numbers" not in stripped and "Inner functions are nested" in stripped
    assert stripped.count("\n") == PYTHON.count("\n") - 7


def test_javascript_jsdoc() -> None:
    defs = find_documented("lib/a.js", "javascript", JAVASCRIPT)
    assert _summary(defs) == [
        ("function", "parseOptions", 5, 9, (1, 4), "Parse the options object and return a normalised copy."),
        ("function", "makeWidget", 13, 17, (11, 11), "Create a new widget from the given spec."),
        ("method", "Queue.push", 23, 27, (20, 22), "Push an item onto the end of the Queue."),
        ("function", "join", 34, 38, (31, 33), "Join all values of the array with a separator."),
        ("method", "Foo.compute", 45, 49, (41, 44), "Computes the foo of a bar for display."),
    ]
    assert defs[1].code == (
        "export const makeWidget = (spec) => {\n  const w = new Widget(spec);\n  w.init();\n  return w;\n};"
    )
    assert defs[3].code.startswith("  join: function (arr, sep) {") and defs[3].code.endswith("  },")


def test_typescript_decorated_method() -> None:
    defs = find_documented("src/store.ts", "typescript", TYPESCRIPT)
    assert _summary(defs) == [
        ("method", "Store.get", 5, 10, (2, 4), "Returns the value stored under the key, or the default."),
    ]
    assert defs[0].code.splitlines()[0] == "  @memoize()"


def test_go_comments_and_directives() -> None:
    drops: Counter[str] = Counter()
    defs = find_documented("client.go", "go", GO, drops=drops)
    assert _summary(defs) == [
        ("function", "NewClient", 6, 11, (3, 5), "Returns a new client with the given options set."),
        ("method", "Client.Do", 14, 20, (13, 13), "Sends an HTTP request and returns an HTTP response."),
    ]
    assert drops == {"body_short": 1}
    assert defs[0].code.splitlines()[:2] == ["//go:noinline", "func NewClient(opts Options) *Client {"]
    assert strip_docs(GO, defs).splitlines()[2:4] == ["//go:noinline", "func NewClient(opts Options) *Client {"]


def test_rust_doc_lines_and_attributes() -> None:
    defs = find_documented("src/vec.rs", "rust", RUST)
    assert _summary(defs) == [
        ("method", "Vec.push", 5, 10, (2, 4), "Appends an element to the back of a collection."),
        ("function", "read_all", 13, 20, (14, 14), "Reads the whole file into a String buffer."),
    ]
    assert defs[1].code.splitlines()[:2] == ['#[cfg(feature = "std")]', "pub fn read_all(path: &str) -> String {"]


def test_ruby_comment_block() -> None:
    defs = find_documented("lib/rouge/lexer.rb", "ruby", RUBY)
    assert _summary(defs) == [
        ("method", "Rouge.Lexer.guess", 6, 10, (3, 5), "Guess the lexer to use from the given source text."),
    ]
    assert defs[0].code.splitlines()[0] == "    def self.guess(source)"


def test_java_and_csharp() -> None:
    (java,) = find_documented("Stack.java", "java", JAVA)
    assert (java.kind, java.qualified_symbol, java.start_line, java.end_line, java.doc_lines) == (
        "method",
        "Stack.push",
        6,
        11,
        (2, 5),
    )
    assert java.query == "Pushes an item onto the top of this stack, see Vector."
    (cs,) = find_documented("Stack.cs", "csharp", CSHARP)
    assert (cs.qualified_symbol, cs.start_line, cs.doc_lines) == ("Stack.Pop", 5, (2, 4))
    assert cs.query == "Removes and returns the object at the top of the Stack."


def test_unsupported_language_and_empty_source() -> None:
    assert find_documented("a.c", "c", "/** Doc. */\nint f(void) {\n  return 1;\n}\n") == []
    assert find_documented("a.py", "python", "") == []


@pytest.mark.parametrize(
    ("lang", "path", "source"),
    [
        ("python", "pkg/mod.py", PYTHON),
        ("javascript", "lib/a.js", JAVASCRIPT),
        ("typescript", "src/store.ts", TYPESCRIPT),
        ("go", "client.go", GO),
        ("rust", "src/vec.rs", RUST),
        ("ruby", "lib/rouge/lexer.rb", RUBY),
        ("java", "Stack.java", JAVA),
        ("csharp", "Stack.cs", CSHARP),
    ],
)
def test_code_is_what_codegraph_embeds_after_doc_removal(lang: str, path: str, source: str) -> None:
    """kind and qualified symbol agree with codegraph's own chunk of the doc-stripped file, and the code is that
    chunk's code (chunker 6 may add a small leftover of the same class/module to it, such as a lone
    ``class Queue {`` header or an import line, so the chunk's code ends with the definition's)."""
    defs = find_documented(path, lang, source)
    assert defs
    chunks = chunk_source(path, lang, strip_docs(source, defs), max_tokens=1 << 30)
    by_symbol = {(c.kind, c.qualified_symbol): c for c in chunks}
    for d in defs:
        chunk = by_symbol[(d.kind, d.qualified_symbol)]
        assert chunk.code.endswith(d.code) and len(chunk.code.splitlines()) <= len(d.code.splitlines()) + 3


@pytest.mark.parametrize(
    ("doc", "lang", "symbol", "want"),
    [
        ("Return the thing.\n\nMore text.", "python", None, "Return the thing."),
        ("Parse a header e.g. the date. Then more.", "python", None, "Parse a header e.g. the date."),
        ("Build the index.\n:param x: thing", "python", None, "Build the index."),
        ("Compute values\nacross lines\nArgs:\n  x: y", "python", None, "Compute values across lines"),
        ("Use ``foo`` and `bar`_ and :func:`baz` here.", "python", None, "Use foo and bar and baz here."),
        ("See [the docs](http://x.y) for **bold** and *em*.", "rust", None, "See the docs for bold and em."),
        ("Returns a [`Vec`] of [Foo] items.", "rust", None, "Returns a Vec of Foo items."),
        ("NewClient returns a client:", "go", "NewClient", "Returns a client"),
        ("Client.Do sends it.", "go", "Client.Do", "Sends it."),
        ("Foo is a helper that works.", "go", "Foo", "A helper that works."),
        ("Writes data.\n\tcode()", "go", None, "Writes data."),
        ("@name x\n@summary Sums the values.\n@param a", "javascript", None, "Sums the values."),
        ("Uses <b>bold</b> &amp; {@link Foo#bar the bar}.", "javascript", None, "Uses bold & the bar."),
        ("Returns +nil+ when empty.\n  code example", "ruby", None, "Returns nil when empty."),
        ("", "python", None, ""),
    ],
)
def test_first_sentence(doc: str, lang: str, symbol: str | None, want: str) -> None:
    assert first_sentence(doc, lang, symbol=symbol) == want


@pytest.mark.parametrize(
    ("query", "issue"),
    [
        ("Send a GET request to the server.", None),
        ("Too short here.", "short"),
        ("Deprecated: use the other function instead please.", "boilerplate"),
        ("See the documentation of the other method.", "boilerplate"),
        ("TODO make this faster and simpler later.", "boilerplate"),
        ("Fetch it from https://example.com every single time.", "url"),
        ("x = foo(a) and b[i] == c_d(e) or z", "code"),
        ("42 is the answer to the big question.", "start"),
        (" ".join(["word"] * 61), "long"),
    ],
)
def test_query_filters(query: str, issue: str | None) -> None:
    assert query_issue(query) == issue
    assert query_ok(query) is (issue is None)

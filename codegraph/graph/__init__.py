"""The code graph: definitions, references (calls, types, inheritance) and imports of each file, extracted from
the parse that makes its chunks (:mod:`.extract`, queries in ``queries/<language>.scm``), stored with the file
(:mod:`codegraph.store.graph`), and resolved when queried (:mod:`.resolve` for imports, :mod:`.query`)."""

GRAPH_VERSION = "3"
"""Version of the graph extraction (queries and rules); an index whose ``meta.graph_version`` differs has its
files' graphs extracted again on the next ``index`` (parsed again, not re-embedded)."""

CLASS_LIKE_KINDS: frozenset[str] = frozenset({"class", "interface", "struct", "enum", "trait"})
"""Definition kinds that own methods: a ``function`` defined directly inside one of these is reported as a
``method`` (:mod:`.extract`), and a call through ``self``/``this`` resolves among its members (:mod:`.query`)."""

"""The code graph: definitions, references (calls, types, inheritance) and imports of each file, extracted from
the parse that makes its chunks (:mod:`.extract`, queries in ``queries/<language>.scm``), stored with the file
(:mod:`codegraph.store.graph`), and resolved when queried (:mod:`.resolve` for imports, :mod:`.query`)."""

GRAPH_VERSION = "2"
"""Version of the graph extraction (queries and rules); an index whose ``meta.graph_version`` differs has its
files' graphs extracted again on the next ``index`` (parsed again, not re-embedded)."""

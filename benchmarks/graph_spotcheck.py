"""Print what the code graph answers for a few symbols next to a plain grep, for hand-checking.

For each symbol: its definitions (``def``), every reference that resolves to one of them (``refs``, with the
reference's kind, qualifier and resolution) and the callers (``callers --depth 1``); then every source line of
the indexed files that holds the bare name as a word and is neither a definition nor a reference the graph
returned (``grep-only``: comments, strings, reads, other things of that name, or misses: that is for the reader
to decide). Nothing here scores anything: the spot checks in ``docs/graph.md`` were judged by reading the code.

Usage::

    codegraph index DIR --model fast
    python benchmarks/graph_spotcheck.py DIR NAME [NAME ...]
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("root", type=Path, help="an indexed directory (codegraph index DIR --model fast)")
    parser.add_argument("names", nargs="+", help="symbols, bare or qualified (Client.send)")
    parser.add_argument("--max-grep", type=int, default=60, help="grep-only lines shown per symbol")
    parser.add_argument("--no-grep", action="store_true", help="leave out the grep-only lines")
    args = parser.parse_args(argv)

    from codegraph.graph.query import Graph, split_name
    from codegraph.store import Store, find_index_root

    root = find_index_root(args.root)
    store = Store.open(root)
    try:
        graph = Graph(store)
        languages = dict(store.conn.execute("SELECT path, language FROM files"))
        for query in args.names:
            _, bare = split_name(query)
            defs = graph.definitions(query)
            print(f"== {query}: {len(defs)} def")
            for d in defs:
                print(f"  def  {d.path}:{d.start_line}-{d.end_line} {d.kind} {d.qualified}")
            seen: set[tuple[str, int]] = {(d.path, d.start_line) for d in graph.definitions(bare)}
            refs = sorted(graph.references(query), key=lambda pair: (pair[0].path, pair[0].line))
            print(f"  refs {len(refs)}")
            for ref, how in refs:
                seen.add((ref.path, ref.line))
                print(f"    {ref.path}:{ref.line} {ref.kind} in {ref.enclosing} q={ref.qualifier} [{how}]")
            callers = graph.callers(query)
            print(f"  callers {len(callers)}")
            for hit in callers:
                print(f"    {hit.path}:{hit.start_line} {hit.kind} {hit.symbol} (line {hit.line}) [{hit.resolution}]")
            if args.no_grep:
                continue
            word = re.compile(rf"(?<![\w$]){re.escape(bare)}(?![\w$])")
            others = []
            for path in sorted(languages):
                try:
                    lines = (Path(root) / path).read_text(encoding="utf-8", errors="replace").splitlines()
                except OSError:
                    continue
                for number, line in enumerate(lines, 1):
                    if (path, number) not in seen and word.search(line):
                        others.append(f"    {path}:{number}: {line.strip()[:110]}")
            print(f"  grep-only {len(others)}")
            print("\n".join(others[: args.max_grep]) + ("\n    ..." if len(others) > args.max_grep else ""))
    finally:
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

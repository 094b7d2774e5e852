#!/usr/bin/env python
"""Screenshots of ``codegraph serve``'s page for the README, from a real run (not a benchmark: it measures nothing).

Usage::

    python benchmarks/serve_screenshots.py [--out docs] [--corpus DIR]

Copies the corpus (default: this checkout's ``codegraph/`` package) to a temporary directory, indexes it with the
default model, stores two snippets (a generated one and its revision, written straight into the store, so no
model server is needed), starts ``codegraph serve --port 0`` and photographs three views in headless chromium
(1400x900): ``serve-search.png`` (a search with results), ``serve-browse.png`` (a file's blocks and one block's
code), ``serve-snippet.png`` (an open snippet). Needs the ``serve`` extra, selenium, chromium and chromedriver.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from _harness import copy_corpus, log, temp_dir
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from codegraph.assist.prompts import Answer
from codegraph.assist.snippets import get_snippet, store_answer
from codegraph.config import resolve_settings
from codegraph.embed import open_embedder, resolve_model
from codegraph.index import index_repo
from codegraph.store import Store

SNIPPET = Answer(
    title="Search with a time budget",
    code='''import time

from codegraph.search import Filters, Searcher


def search_within(searcher: Searcher, query: str, *, budget_s: float = 0.2, k: int = 10):
    """Hybrid search, falling back to keyword search when the budget is spent."""
    start = time.perf_counter()
    hits = searcher.search(query, k=k, mode="keyword", filters=Filters())
    if time.perf_counter() - start < budget_s / 2:
        hits = searcher.search(query, k=k, mode="hybrid", filters=Filters())
    return hits
''',
    explanation="Runs the cheap BM25 search first and only pays for the embedding when there is time left, "
    "reusing Searcher and Filters from codegraph/search.py.",
)

REVISION = Answer(
    title="Search with a time budget",
    code=SNIPPET.code.replace("k: int = 10):", "k: int = 10) -> list:").replace(
        '    """Hybrid search', '    """Hybrid search (RRF of BM25 and vectors)'
    ),
    explanation="Adds the return type and names the fusion in the docstring.",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "docs")
    parser.add_argument("--corpus", type=Path, default=Path(__file__).resolve().parent.parent / "codegraph")
    args = parser.parse_args()
    chromium = shutil.which("chromium") or shutil.which("google-chrome")
    driver_exe = shutil.which("chromedriver")
    if chromium is None or driver_exe is None:
        raise SystemExit("needs chromium and chromedriver on PATH (Debian: apt-get install chromium chromium-driver)")
    with temp_dir("codegraph-screens-", keep=False) as tmp:
        repo = tmp / "work" / "codegraph"  # the page shows the root's name
        log(f"indexing {copy_corpus(args.corpus, repo)}")
        settings = resolve_settings(repo)
        index_repo(repo, open_embedder(resolve_model(None), threads=settings.threads))
        with Store.open(repo) as store:
            context = [{"path": "search.py", "start_line": 120, "end_line": 160, "symbol": "Searcher"}]
            first = store_answer(
                store,
                SNIPPET,
                origin="generate",
                language="python",
                prompt="search with a time budget: keyword first, hybrid when there is time",
                model="gpt-4o-mini",
                usage=(1830, 164),
                context=context,
            )
            store_answer(
                store,
                REVISION,
                origin="refine",
                language="python",
                prompt="add the return type",
                model="gpt-4o-mini",
                usage=(1502, 171),
                context=context,
                parent=get_snippet(store, first.id),
            )
        proc = subprocess.Popen(
            [sys.executable, "-m", "codegraph", "serve", "--port", "0", "--dir", str(repo)],
            cwd=tmp,  # not the corpus' parent: python -m puts the cwd first on sys.path, and the copy is "codegraph"
            stderr=subprocess.PIPE,
            text=True,
            env=os.environ.copy(),
        )
        assert proc.stderr is not None
        url = proc.stderr.readline().split()[2]
        options = webdriver.ChromeOptions()
        options.binary_location = chromium
        for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,900"):
            options.add_argument(flag)
        browser = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=driver_exe))
        wait = WebDriverWait(browser, 60)
        try:
            args.out.mkdir(parents=True, exist_ok=True)
            browser.get(url + "?q=reciprocal+rank+fusion+of+keyword+and+vector+results")
            wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "li.result")))
            save(browser, args.out / "serve-search.png")
            browser.get(url + "browse?path=search.py")
            browser.find_element(By.PARTIAL_LINK_TEXT, "Searcher.search").click()
            wait.until(ec.presence_of_element_located((By.ID, "code")))
            save(browser, args.out / "serve-browse.png")
            browser.get(url + "snippets?id=2")
            wait.until(ec.presence_of_element_located((By.ID, "snippet-code")))
            save(browser, args.out / "serve-snippet.png")
        finally:
            browser.quit()
            proc.send_signal(signal.SIGINT)
            proc.communicate(timeout=60)


def save(browser: webdriver.Chrome, path: Path) -> None:
    browser.save_screenshot(str(path))
    log(f"saved {path}")


if __name__ == "__main__":
    main()

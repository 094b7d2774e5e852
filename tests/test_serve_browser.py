"""`codegraph serve`'s page in a real headless browser (chromium + chromedriver through selenium), against the real
command (uvicorn in a subprocess) and the local chat-completions server: search, browse, open / delete a snippet,
generate and refine with the answer streamed in, and a model failure shown as a friendly message.

Skipped, with the reason, only where chromium or chromedriver is not installed (``.ci/run`` installs them)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi", reason="codegraph serve needs the serve extra (fastapi, uvicorn, jinja2)")
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (the test extra has it)")

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support import expected_conditions as ec  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from codegraph.embed import OnnxEncoder  # noqa: E402
from codegraph.index import index_repo  # noqa: E402

from .conftest import CODEGRAPH, default_sigint  # noqa: E402
from .fake_llm import FakeLLM, Status, Trickle, fake_llm  # noqa: E402
from .test_serve import ANSWER, KEY, REVISED  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
CHROMEDRIVER = shutil.which("chromedriver")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        CHROMIUM is None or CHROMEDRIVER is None,
        reason="needs chromium and chromedriver on PATH (Debian: apt-get install chromium chromium-driver; "
        ".ci/run installs them)",
    ),
]

WAIT_S = 60


@pytest.fixture
def llm() -> Iterator[FakeLLM]:
    with fake_llm([Trickle(ANSWER), REVISED, Status(401, "invalid key")]) as server:
        yield server


@pytest.fixture
def server(tmp_repo: Path, encoder: OnnxEncoder, llm: FakeLLM) -> Iterator[str]:
    """``codegraph serve --port 0`` on the indexed sample repository; yields its URL."""
    index_repo(tmp_repo, encoder)
    env = {**os.environ, "OPENAI_API_KEY": KEY, "CODEGRAPH_LLM_BASE_URL": llm.base_url}
    proc = subprocess.Popen(
        [*CODEGRAPH, "serve", "--port", "0"],
        cwd=tmp_repo,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=default_sigint,
    )
    assert proc.stderr is not None
    guard = threading.Timer(120, proc.kill)
    guard.start()
    line = proc.stderr.readline()
    guard.cancel()
    assert line.startswith("codegraph serve: http://"), line + proc.stderr.read()
    try:
        yield line.split()[2]
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)


@pytest.fixture
def browser() -> Iterator[Any]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(WAIT_S)
    try:
        yield driver
    finally:
        driver.quit()


def wait(driver: Any) -> WebDriverWait:
    return WebDriverWait(driver, WAIT_S)


def test_search_then_browse(server: str, browser: Any) -> None:
    browser.get(server)
    box = browser.find_element(By.ID, "q")
    assert browser.switch_to.active_element == box  # focused on arrival
    box.send_keys("retry failed uploads with backoff", Keys.ENTER)
    first = wait(browser).until(ec.presence_of_element_located((By.CSS_SELECTOR, "li.result .loc")))
    assert first.text == "app/retry.py:8–17"
    result = browser.find_element(By.CSS_SELECTOR, "li.result")
    assert result.find_element(By.CSS_SELECTOR, ".symbol").text == "retry_upload"
    assert result.find_elements(By.CSS_SELECTOR, ".hl span.k")  # highlighted code
    assert "q=retry+failed+uploads" in browser.current_url  # the URL is a link to this search

    first.click()
    wait(browser).until(ec.presence_of_element_located((By.ID, "code")))
    blocks = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#blocks li a")]
    assert any("retry_upload" in b for b in blocks) and any("RateLimiter" in b for b in blocks)
    assert "def retry_upload(" in browser.find_element(By.ID, "code").text
    browser.find_element(By.PARTIAL_LINK_TEXT, "RateLimiter").click()
    wait(browser).until(ec.text_to_be_present_in_element((By.ID, "code"), "class RateLimiter"))


def test_generate_streams_the_answer_then_open_refine_and_delete(server: str, browser: Any, llm: FakeLLM) -> None:
    browser.get(server + "snippets")
    assert "No snippets yet" in browser.find_element(By.ID, "snippet-list").text
    # Record how the streamed text grows (kept in sessionStorage across the page change at the end).
    browser.execute_script(
        """
        const out = document.getElementById('stream-text');
        sessionStorage.setItem('seen', '[]');
        new MutationObserver(() => {
          const seen = JSON.parse(sessionStorage.getItem('seen'));
          seen.push(out.textContent.length);
          sessionStorage.setItem('seen', JSON.stringify(seen));
        }).observe(out, {childList: true, characterData: true, subtree: true});
        """
    )
    browser.find_element(By.ID, "request").send_keys("upload a payload with retries and random jitter")
    browser.find_element(By.CSS_SELECTOR, "#generate-form button[type=submit]").click()
    wait(browser).until(ec.url_contains("/snippets?id=1"))
    seen = json.loads(browser.execute_script("return sessionStorage.getItem('seen')"))
    assert len(set(seen)) > 3 and seen == sorted(seen) and seen[-1] == len(ANSWER)  # it streamed in, in order

    code = wait(browser).until(ec.presence_of_element_located((By.ID, "snippet-code")))
    assert "def upload_with_jitter(client, payload):" in code.text
    assert code.find_elements(By.CSS_SELECTOR, ".hl span.k")
    assert browser.find_element(By.ID, "snippet-title").text == "Upload with retries and jitter"  # set for us
    assert "python" in browser.find_element(By.CSS_SELECTOR, ".snippet-head + .meta").text
    assert not browser.find_elements(By.CSS_SELECTOR, "button.delete")  # hidden while a snippet is open

    browser.find_element(By.ID, "feedback").send_keys("make the spread a parameter")
    browser.find_element(By.CSS_SELECTOR, "#refine-form button").click()
    wait(browser).until(ec.url_contains("/snippets?id=2"))
    assert "spread=2" in wait(browser).until(ec.presence_of_element_located((By.ID, "snippet-code"))).text
    assert "make the spread a parameter" in llm.requests[1].text("user")

    browser.find_element(By.ID, "close").click()
    wait(browser).until(ec.presence_of_element_located((By.CSS_SELECTOR, "button.delete")))
    titles = [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".snippet-link .title")]
    assert titles == ["Upload with bounded jitter", "Upload with retries and jitter"]
    browser.find_element(By.CSS_SELECTOR, "button.delete[data-id='1']").click()
    browser.switch_to.alert.accept()
    wait(browser).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".snippet-item")) == 1)
    browser.refresh()
    assert len(browser.find_elements(By.CSS_SELECTOR, ".snippet-item")) == 1  # deleted on the server too

    # The third reply is a 401 from the model server: a readable message, no stack trace, nothing stored.
    browser.find_element(By.ID, "request").send_keys("anything at all")
    browser.find_element(By.CSS_SELECTOR, "#generate-form button[type=submit]").click()
    status = browser.find_element(By.ID, "stream-status")
    wait(browser).until(lambda d: status.text.startswith("Could not finish"))
    assert "rejected the API key" in status.text and KEY not in browser.page_source

// codegraph serve: the page's few behaviours (no build step, no dependencies).
// "/" focuses the search box; snippet deletion; generate / refine / test with the answer streamed in
// (server-sent events read from a fetch() body, since EventSource cannot POST).
"use strict";

function toast(message, kind) {
  const box = document.getElementById("toast");
  box.textContent = message;
  box.className = "toast " + (kind || "error");
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.hidden = true; }, 6000);
}

async function errorOf(response) {
  try {
    const body = await response.json();
    if (body && body.error) return body.error;
  } catch (e) { /* not JSON */ }
  return `the server answered ${response.status} ${response.statusText}`;
}

document.addEventListener("keydown", (event) => {
  const box = document.getElementById("q");
  const typing = /^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement.tagName);
  if (event.key === "/" && box && !typing) {
    event.preventDefault();
    box.focus();
    box.select();
  }
});

document.addEventListener("click", async (event) => {
  const button = event.target.closest("button.delete");
  if (!button) return;
  const id = button.dataset.id;
  if (!confirm(`Delete snippet #${id} and its test runs?`)) return;
  const response = await fetch(`/api/snippets/${id}`, { method: "DELETE", credentials: "same-origin" });
  if (!response.ok) { toast(await errorOf(response)); return; }
  button.closest("li").remove();
  toast(`Deleted snippet #${id}`, "ok");
});

// Reads a text/event-stream body and calls onEvent(name, data) for each event.
async function readEvents(response, onEvent) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const frame = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      let name = "message", data = "";
      for (const line of frame.split("\n")) {
        if (line.startsWith("event:")) name = line.slice(6).trim();
        else if (line.startsWith("data:")) data += line.slice(5).trim();
      }
      if (data) onEvent(name, JSON.parse(data));
    }
  }
}

function roundHtml(round) {
  const list = document.createElement("div");
  list.className = "round";
  const verdict = round.failed === 0 && round.passed > 0 && !round.collection_error;
  const head = document.createElement("p");
  head.innerHTML = `<span class="badge ${verdict ? "pass" : "fail"}">${verdict ? "passed" : "failed"}</span> `;
  head.append(`round ${round.round}: ${round.passed} passed, ${round.failed} failed` +
    (round.fixed ? ` (after repairing the ${round.fixed})` : "") + ` in ${round.sandbox.wall_s} s`);
  list.append(head);
  if (round.collection_error) {
    const err = document.createElement("pre");
    err.className = "test-output";
    err.textContent = round.collection_error;
    list.append(err);
  }
  const ul = document.createElement("ul");
  ul.className = "tests";
  for (const test of round.tests) {
    const li = document.createElement("li");
    li.className = test.outcome;
    li.textContent = `${test.outcome === "passed" ? "✓" : "✗"} ${test.name}` + (test.message ? ` — ${test.message}` : "");
    ul.append(li);
  }
  list.append(ul);
  return list;
}

for (const form of document.querySelectorAll("form.stream-form")) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const fields = Object.fromEntries(new FormData(form).entries());
    const body = {};
    for (const [key, value] of Object.entries(fields)) {
      if (value === "") continue;
      body[key] = key === "fix" ? Number(value) : value;
    }
    const panel = document.getElementById("stream");
    const status = document.getElementById("stream-status");
    const text = document.getElementById("stream-text");
    const rounds = document.getElementById("stream-rounds");
    const buttons = document.querySelectorAll("form.stream-form button");
    panel.hidden = false;
    panel.classList.remove("failed");
    text.textContent = "";
    rounds.textContent = "";
    status.textContent = "Sending…";
    buttons.forEach((b) => { b.disabled = true; });
    try {
      const response = await fetch(form.dataset.url, {
        method: "POST",
        headers: { "Content-Type": "application/json", "Accept": "text/event-stream" },
        credentials: "same-origin",
        body: JSON.stringify(body),
      });
      if (!response.ok) throw new Error(await errorOf(response));
      let finished = false;
      await readEvents(response, (name, data) => {
        if (name === "status") status.textContent = data.message + "…";
        else if (name === "token") { text.textContent += data.text; text.scrollTop = text.scrollHeight; }
        else if (name === "round") rounds.append(roundHtml(data));
        else if (name === "snippet") {
          finished = true;
          status.textContent = `Saved snippet #${data.id}: ${data.title}`;
          window.location.assign(`/snippets?id=${data.id}`);
        } else if (name === "result") {
          finished = true;
          status.textContent = data.passed ? "All tests passed." : "Some tests failed.";
          panel.classList.toggle("failed", !data.passed);
          const last = data.rounds[data.rounds.length - 1];
          if (last && last.snippet_id && String(last.snippet_id) !== String(form.closest("[data-id]")?.dataset.id)) {
            const link = document.createElement("a");
            link.href = `/snippets?id=${last.snippet_id}`;
            link.textContent = ` Open the repaired revision #${last.snippet_id}.`;
            status.append(link);
          }
        } else if (name === "error") {
          finished = true;
          throw new Error(data.error);
        }
      });
      if (!finished) throw new Error("the connection closed before the answer was complete");
    } catch (error) {
      panel.classList.add("failed");
      status.textContent = "Could not finish: " + error.message;
      toast(error.message);
    } finally {
      buttons.forEach((b) => { b.disabled = false; });
    }
  });
}

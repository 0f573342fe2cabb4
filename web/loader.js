// Loads main.wasm with wasm_exec.js's Go class and shows how far the download got.
// It is a file of its own, not an inline script, so the page works under a CSP without 'unsafe-inline'.
"use strict";

(function () {
  const statusEl = document.getElementById("status");
  const progressEl = document.getElementById("progress");

  function show(text, isError) {
    statusEl.textContent = text;
    statusEl.classList.toggle("error", Boolean(isError));
  }

  function mb(bytes) {
    return (bytes / 1e6).toFixed(1) + " MB";
  }

  // countProgress passes the body through unchanged and reports the bytes seen so far.
  // Content-Length is the size on the wire: when the server sends main.wasm compressed the body
  // decodes to more bytes than that, so the bar is only shown while the count is below it.
  function countProgress(response) {
    const total = Number(response.headers.get("Content-Length")) || 0;
    const encoded = (response.headers.get("Content-Encoding") || "identity") !== "identity";
    if (!response.body) {
      return response;
    }
    let loaded = 0;
    const counter = new TransformStream({
      transform(chunk, controller) {
        loaded += chunk.byteLength;
        if (total > 0 && !encoded && loaded <= total) {
          progressEl.hidden = false;
          progressEl.value = loaded / total;
          show("loading main.wasm: " + mb(loaded) + " of " + mb(total));
        } else {
          show("loading main.wasm: " + mb(loaded));
        }
        controller.enqueue(chunk);
      },
    });
    return new Response(response.body.pipeThrough(counter), {
      status: response.status,
      statusText: response.statusText,
      headers: { "Content-Type": "application/wasm" },
    });
  }

  async function load() {
    if (typeof Go !== "function") {
      throw new Error("wasm_exec.js did not load: run ./build.sh build, it copies it into web/");
    }
    const go = new Go();
    let exitCode = null;
    const defaultExit = go.exit;
    go.exit = (code) => {
      exitCode = code;
      defaultExit(code);
    };
    const response = await fetch("main.wasm");
    if (!response.ok) {
      throw new Error("fetching main.wasm: HTTP " + response.status + " " + response.statusText);
    }
    const { instance } = await WebAssembly.instantiateStreaming(countProgress(response), go.importObject);
    progressEl.hidden = true;
    show("starting…");
    // go.run resolves only when the Go program exits, which it never should.
    const exited = go.run(instance);
    exited.then(
      () => show("webminiport exited (code " + exitCode + ")", true),
      (err) => show("webminiport stopped: " + err, true),
    );
  }

  load().catch((err) => {
    progressEl.hidden = true;
    show("failed to start webminiport: " + err.message, true);
    console.error(err);
  });
})();

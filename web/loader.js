// Loads main.wasm with wasm_exec.js's Go class, showing how far the download got.
// It is a file of its own, not an inline script, so the page works under a CSP without 'unsafe-inline'.
//
// The body is read with a ReadableStream reader so every chunk is counted, then compiled with
// WebAssembly.instantiate. Content-Length is the size on the wire: when the server sends main.wasm
// compressed (Content-Encoding gzip or br), the reader yields more bytes than that. The real size is
// then read from the ISIZE trailer of main.wasm.gz (the last four bytes of a gzip file are the
// length of what it holds), which build.sh writes next to main.wasm; without it the bar shows the
// bytes received and no total.
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

  // decodedSize returns the uncompressed size of main.wasm from main.wasm.gz's trailer, or 0.
  async function decodedSize() {
    try {
      const r = await fetch("main.wasm.gz", { headers: { Range: "bytes=-4" }, cache: "no-store" });
      if (r.status !== 206) {
        return 0;
      }
      const b = new Uint8Array(await r.arrayBuffer());
      if (b.length !== 4) {
        return 0;
      }
      return new DataView(b.buffer).getUint32(0, true);
    } catch (err) {
      return 0;
    }
  }

  function report(received, total, wire) {
    if (total > 0 && received <= total) {
      progressEl.max = total;
      progressEl.value = received;
      let text = "loading main.wasm: " + mb(received) + " of " + mb(total);
      if (wire > 0 && wire < total) {
        text += " (" + mb(wire) + " compressed)";
      }
      show(text);
    } else {
      progressEl.removeAttribute("value");
      show("loading main.wasm: " + mb(received));
    }
  }

  async function readAll(response) {
    const wire = Number(response.headers.get("Content-Length")) || 0;
    const encoding = (response.headers.get("Content-Encoding") || "identity").toLowerCase();
    let total = encoding === "identity" ? wire : 0;
    let sizing = null;
    if (encoding !== "identity") {
      sizing = decodedSize().then((n) => { total = n; });
    }
    if (!response.body) {
      return new Uint8Array(await response.arrayBuffer());
    }
    const reader = response.body.getReader();
    const chunks = [];
    let received = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) {
        break;
      }
      chunks.push(value);
      received += value.byteLength;
      report(received, total, encoding === "identity" ? 0 : wire);
    }
    if (sizing) {
      await sizing;
    }
    const bytes = new Uint8Array(received);
    let at = 0;
    for (const c of chunks) {
      bytes.set(c, at);
      at += c.byteLength;
    }
    return bytes;
  }

  async function load() {
    if (typeof Go !== "function") {
      throw new Error("wasm_exec.js did not load: run ./build.sh build, it copies it into web/");
    }
    if (typeof globalThis.webminiportRender !== "object") {
      throw new Error("render.js did not load");
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
    const bytes = await readAll(response);
    show("compiling " + mb(bytes.byteLength) + " of WebAssembly…");
    progressEl.removeAttribute("value");
    const { instance } = await WebAssembly.instantiate(bytes, go.importObject);
    show("starting the virtual adapter…");
    // go.run resolves only when the Go program exits, which it never should. The Go program hides
    // the loading screen once the page is built.
    const exited = go.run(instance);
    exited.then(
      () => fail("webminiport exited (code " + exitCode + ")"),
      (err) => fail("webminiport stopped: " + err),
    );
  }

  function fail(text) {
    document.getElementById("loading").hidden = false;
    document.getElementById("app").hidden = true;
    progressEl.hidden = true;
    show(text, true);
  }

  load().catch((err) => {
    fail("failed to start webminiport: " + err.message);
    console.error(err);
  });
})();

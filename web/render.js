// The page's renderer: it applies, in one call per animation frame, the batch of DOM updates the Go
// program wrote into a shared command buffer (the format is defined in wasm/ui/ops.go; keep the
// opcodes here in step with it). Go decides what changes; this file only carries it out, so the
// render loop crosses the Go/JavaScript boundary a handful of times per frame instead of once per
// cell, and allocates nothing on the Go side.
"use strict";

(function () {
  const els = []; // registered elements, by ID
  const ctxs = []; // 2D contexts of registered canvases, by ID
  const images = []; // ImageData of canvases that show a Go pixel buffer, by ID
  let buf = new Uint8Array(0);
  let view = new DataView(buf.buffer);
  const decoder = new TextDecoder();

  function text(p, len) {
    return decoder.decode(buf.subarray(p, p + len));
  }

  // The flags of wasm/ui (FlagHidden, FlagDisabled, ...), in their order.
  const flags = [
    (el, on) => { el.hidden = on; },
    (el, on) => { el.disabled = on; },
    (el, on) => {
      el.classList.toggle("selected", on);
      el.setAttribute("aria-selected", on ? "true" : "false");
    },
    (el, on) => { el.checked = on; },
    (el, on) => { el.classList.toggle("active", on); },
    (el, on) => { el.classList.toggle("warn", on); },
    (el, on) => { el.classList.toggle("bad", on); },
  ];

  function rgba(v) {
    return "rgba(" + (v & 255) + "," + ((v >>> 8) & 255) + "," + ((v >>> 16) & 255) + "," +
      ((v >>> 24) & 255) / 255 + ")";
  }

  const api = {
    // register adds an element and returns its ID.
    register(el) {
      els.push(el);
      return els.length - 1;
    },
    // buffer makes the command buffer, size bytes, and returns it for Go to copy batches into.
    buffer(size) {
      buf = new Uint8Array(size);
      view = new DataView(buf.buffer);
      return buf;
    },
    // canvas sizes canvas id to w×h device pixels and keeps its 2D context.
    canvas(id, w, h) {
      const c = els[id];
      if (c.width !== w) c.width = w;
      if (c.height !== h) c.height = h;
      ctxs[id] = c.getContext("2d");
      images[id] = null;
    },
    // image sizes canvas id like canvas and returns the pixel array of a w×h ImageData that Go
    // fills (js.CopyBytesToJS) before asking for it to be put on the canvas.
    image(id, w, h) {
      api.canvas(id, w, h);
      if (w === 0 || h === 0) {
        return new Uint8ClampedArray(0);
      }
      const img = ctxs[id].createImageData(w, h);
      images[id] = img;
      return img.data;
    },
    // apply runs the batch in the command buffer: a little-endian length, then the commands.
    apply() {
      const end = 4 + view.getUint32(0, true);
      let p = 4;
      while (p < end) {
        const op = buf[p];
        const id = view.getUint16(p + 1, true);
        const el = els[id];
        p += 3;
        switch (op) {
          case 1: { // text
            const len = view.getUint32(p, true);
            el.textContent = text(p + 4, len);
            p += 4 + len;
            break;
          }
          case 2: { // HTML
            const len = view.getUint32(p, true);
            el.innerHTML = text(p + 4, len);
            p += 4 + len;
            break;
          }
          case 3: // flag
            flags[buf[p]](el, buf[p + 1] !== 0);
            p += 2;
            break;
          case 4: // translateY
            el.style.transform = "translateY(" + view.getFloat32(p, true) + "px)";
            p += 4;
            break;
          case 6: // image
            if (images[id]) ctxs[id].putImageData(images[id], 0, 0);
            break;
          case 7: // clear
            ctxs[id].clearRect(0, 0, el.width, el.height);
            break;
          case 8: { // path
            const stroke = view.getUint32(p, true);
            const fill = view.getUint32(p + 4, true);
            const width = view.getFloat32(p + 8, true);
            const n = view.getUint16(p + 12, true);
            p += 14;
            const ctx = ctxs[id];
            if (n > 0) {
              ctx.beginPath();
              ctx.moveTo(view.getFloat32(p, true), view.getFloat32(p + 4, true));
              for (let i = 1; i < n; i++) {
                ctx.lineTo(view.getFloat32(p + 8 * i, true), view.getFloat32(p + 8 * i + 4, true));
              }
              if (fill >>> 24 !== 0) {
                ctx.lineTo(view.getFloat32(p + 8 * (n - 1), true), el.height);
                ctx.lineTo(view.getFloat32(p, true), el.height);
                ctx.closePath();
                ctx.fillStyle = rgba(fill);
                ctx.fill();
                ctx.beginPath();
                ctx.moveTo(view.getFloat32(p, true), view.getFloat32(p + 4, true));
                for (let i = 1; i < n; i++) {
                  ctx.lineTo(view.getFloat32(p + 8 * i, true), view.getFloat32(p + 8 * i + 4, true));
                }
              }
              ctx.strokeStyle = rgba(stroke);
              ctx.lineWidth = width;
              ctx.lineJoin = "round";
              ctx.stroke();
            }
            p += 8 * n;
            break;
          }
          case 9: // scrollTop
            el.scrollTop = view.getFloat32(p, true);
            p += 4;
            break;
          case 10: { // attribute
            const nl = buf[p];
            const name = text(p + 1, nl);
            p += 1 + nl;
            const vl = view.getUint16(p, true);
            el.setAttribute(name, text(p + 2, vl));
            p += 2 + vl;
            break;
          }
          case 12: { // style length in px
            const nl = buf[p];
            el.style.setProperty(text(p + 1, nl), view.getFloat32(p + 1 + nl, true) + "px");
            p += 1 + nl + 4;
            break;
          }
          default:
            throw new Error("render: unknown command " + op + " at byte " + (p - 3) + " of the batch");
        }
      }
    },
  };
  globalThis.webminiportRender = api;
})();

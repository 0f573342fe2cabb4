"use strict";
// One ARP request to the gadget and its reply, over WebUSB with no driver of ours: raw Ethernet
// on bulk OUT/IN for CDC-ECM, a hand-made NTB16 for CDC-NCM (NTH16 12 bytes, NDP16 16 bytes,
// the datagram at 28; CDC NCM 1.0 §3.2-3.3).

function mac(s) { return s.split(":").map((h) => parseInt(h, 16)); }
function ip(s) { return s.split(".").map(Number); }
function hex(b) { return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(":"); }

function arpRequest(srcMAC, srcIP, dstIP) {
  const f = new Uint8Array(42);
  f.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 0);
  f.set(srcMAC, 6);
  f.set([0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01], 12);
  f.set(srcMAC, 22);
  f.set(srcIP, 28);
  f.set(dstIP, 38);
  return f;
}

function ntb16(frame, seq) {
  const b = new Uint8Array(28 + frame.length);
  const v = new DataView(b.buffer);
  b.set([0x4e, 0x43, 0x4d, 0x48], 0); // "NCMH"
  v.setUint16(4, 12, true);            // wHeaderLength
  v.setUint16(6, seq, true);           // wSequence
  v.setUint16(8, b.length, true);      // wBlockLength
  v.setUint16(10, 12, true);           // wNdpIndex
  b.set([0x4e, 0x43, 0x4d, 0x30], 12); // "NCM0"
  v.setUint16(16, 16, true);           // wLength
  v.setUint16(18, 0, true);            // wNextNdpIndex
  v.setUint16(20, 28, true);           // datagram index
  v.setUint16(22, frame.length, true); // datagram length
  b.set(frame, 28);                    // entries end with a zero pair (bytes 24-27)
  return b;
}

function ntb16Frames(dv) {
  const frames = [];
  if (dv.byteLength < 12 || dv.getUint32(0, true) !== 0x484d434e) {
    throw new Error("IN transfer of " + dv.byteLength + " bytes is not an NTH16");
  }
  let ndp = dv.getUint16(10, true);
  for (let hops = 0; ndp !== 0 && hops < 8; hops++) {
    const len = dv.getUint16(ndp + 4, true);
    for (let e = ndp + 8; e + 4 <= ndp + len; e += 4) {
      const idx = dv.getUint16(e, true), n = dv.getUint16(e + 2, true);
      if (idx === 0 || n === 0) break;
      frames.push(new Uint8Array(dv.buffer, dv.byteOffset + idx, n));
    }
    ndp = dv.getUint16(ndp + 6, true);
  }
  return frames;
}

function timeout(ms, what) {
  return new Promise((_, reject) => setTimeout(() => reject(new Error(what + ": no answer in " + ms + " ms")), ms));
}

// Hot-plug events reach Chromium only through udevd in the guest: counting them here proves
// that part of the bench for the product page's unplug and reconnect checks.
const events = { connect: 0, disconnect: 0 };
navigator.usb.addEventListener("connect", () => { events.connect++; });
navigator.usb.addEventListener("disconnect", () => { events.disconnect++; });

window.vmtestPlumbing = {
  events() { return events; },

  async arp(srcMACText, srcIPText, dstIPText) {
    const log = [];
    const devs = await navigator.usb.getDevices();
    if (devs.length !== 1) throw new Error("getDevices returned " + devs.length + " devices, want the gadget");
    const d = devs[0];
    log.push("device " + d.vendorId.toString(16) + ":" + d.productId.toString(16) + " " + d.productName);
    await d.open();
    try {
      if (d.configuration === null) await d.selectConfiguration(1);
      const ifs = d.configuration.interfaces;
      const ctl = ifs.find((i) => i.alternates[0].interfaceClass === 2);
      const data = ifs.find((i) => i.alternates.some((a) => a.interfaceClass === 10 && a.endpoints.length === 2));
      if (!ctl || !data) throw new Error("no CDC control and data interfaces");
      const alt = data.alternates.find((a) => a.endpoints.length === 2);
      const ncm = ctl.alternates[0].interfaceSubclass === 0x0d;
      await d.claimInterface(ctl.interfaceNumber);
      await d.claimInterface(data.interfaceNumber);
      await d.selectAlternateInterface(data.interfaceNumber, alt.alternateSetting);
      const epIn = alt.endpoints.find((e) => e.direction === "in").endpointNumber;
      const epOut = alt.endpoints.find((e) => e.direction === "out").endpointNumber;
      log.push((ncm ? "NCM" : "ECM") + " data interface " + data.interfaceNumber + " alt " + alt.alternateSetting +
        ", bulk IN " + epIn + ", bulk OUT " + epOut);

      const src = mac(srcMACText), target = ip(dstIPText);
      const frame = arpRequest(src, ip(srcIPText), target);
      const out = ncm ? ntb16(frame, 0) : frame;
      const sent = await d.transferOut(epOut, out);
      log.push("OUT " + sent.bytesWritten + " bytes, " + sent.status);
      for (let i = 0; i < 20; i++) {
        const r = await Promise.race([d.transferIn(epIn, 16384), timeout(15000, "bulk IN")]);
        const frames = ncm ? ntb16Frames(r.data) : [new Uint8Array(r.data.buffer, r.data.byteOffset, r.data.byteLength)];
        log.push("IN " + r.data.byteLength + " bytes, " + frames.length + " frames");
        for (const f of frames) {
          if (f.length >= 42 && f[12] === 0x08 && f[13] === 0x06 && f[21] === 2 &&
              f.slice(28, 32).every((x, k) => x === target[k])) {
            return { ok: true, ncm, inBytes: r.data.byteLength, outBytes: out.length, from: hex(f.slice(22, 28)), log };
          }
        }
      }
      return { ok: false, ncm, log };
    } finally {
      await d.close().catch(() => {});
    }
  },
};

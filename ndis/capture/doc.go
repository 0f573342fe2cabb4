// Package capture is the protocol driver bound to the miniport: it keeps the
// frames that went through in a bounded ring, decodes them for the frame
// table (a summary line, a layer tree and a hex dump), filters them with a
// small display-filter language, exports and imports pcap and pcapng files,
// and builds the test frames the page sends (ARP who-has, ICMP echo request,
// DHCP discover).
//
// Everything a frame passes through on the receive path — Ring.Record,
// Decoder.Summarize, Filter.Match and the frame builders — does no heap
// allocation; the per-frame cost is proven by AllocsPerRun tests and
// benchmarks. Views for one selected frame (Decoder.Dissect, AppendHexDump)
// and file export and import may allocate.
package capture

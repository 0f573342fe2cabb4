package capture

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

// Fuzz targets for the three parsers of untrusted input: capture files a
// user opens, filter expressions a user types, frames off the wire. Seeds
// are in testdata/fuzz/<target>/.

func FuzzReadFrames(f *testing.F) {
	f.Fuzz(func(t *testing.T, file []byte) {
		frames, err := ReadFrames(bytes.NewReader(file))
		if err != nil {
			var fe *FileError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a *FileError", err)
			}
			if fe.Offset < 0 || fe.Offset > int64(len(file)) || fe.Record < 0 {
				t.Fatalf("error %v points outside the %d-byte file", err, len(file))
			}
		}
		inRange := true
		for i, fr := range frames {
			if fr.Number != uint64(i+1) || len(fr.Data) > maxCaptureLen || fr.OrigLen < len(fr.Data) {
				t.Fatalf("frame %d: number %d, %d of %d bytes", i+1, fr.Number, len(fr.Data), fr.OrigLen)
			}
			// pcapng stores nanoseconds since 1970 in 64 bits.
			inRange = inRange && fr.Time.After(time.Unix(0, 0).Add(-time.Nanosecond)) && fr.Time.Before(time.Unix(1<<34, 0))
		}
		if err != nil || !inRange {
			return
		}
		// What we read, we write and read back the same.
		var out bytes.Buffer
		seq := func(yield func(Frame) bool) {
			for _, fr := range frames {
				if !yield(fr) {
					return
				}
			}
		}
		if err := WritePcapng(&out, PcapngInterface{Name: "fuzz"}, seq); err != nil {
			t.Fatal(err)
		}
		again, err := ReadFrames(bytes.NewReader(out.Bytes()))
		if err != nil {
			t.Fatalf("reading our own export: %v", err)
		}
		if len(again) != len(frames) {
			t.Fatalf("read back %d frames of %d", len(again), len(frames))
		}
		for i := range frames {
			a, b := frames[i], again[i]
			if !bytes.Equal(a.Data, b.Data) || a.OrigLen != b.OrigLen || !a.Time.Equal(b.Time) {
				t.Fatalf("frame %d changed in a round trip: %d/%d at %v, then %d/%d at %v",
					i+1, len(a.Data), a.OrigLen, a.Time, len(b.Data), b.OrigLen, b.Time)
			}
		}
	})
}

func FuzzCompileFilter(f *testing.F) {
	frames := [][]byte{frame(f, "tcp_synack"), frame(f, "arp_request"), frame(f, "dns_query"), frame(f, "icmp6_ns"), frame(f, "runt")}
	f.Fuzz(func(t *testing.T, expr string) {
		fl, err := Compile(expr)
		if err != nil {
			var fe *FilterError
			if !errors.As(err, &fe) || fe.Pos < 0 || fe.Pos > len(expr) {
				t.Fatalf("Compile(%q): error %v is not a *FilterError inside the expression", expr, err)
			}
			return
		}
		if fl.String() != expr {
			t.Fatalf("String() = %q", fl.String())
		}
		// Negation must give the complement, for any filter that nests
		// shallowly enough to take one more level.
		neg, err := Compile("not (" + expr + ")")
		for _, fr := range frames {
			m := fl.Match(fr)
			if err == nil && neg.Match(fr) == m {
				t.Fatalf("%q and its negation agree (%v) on a frame", expr, m)
			}
		}
	})
}

func FuzzSummarize(f *testing.F) {
	warm := NewDecoder()
	filter, err := Compile("tcp or udp or arp or icmp or icmpv6 or host 10.0.0.1 or port 53")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, fr []byte) {
		// A decoder that has seen other frames must summarize exactly as
		// a fresh one: no state may leak from one frame to the next.
		var fresh, reused Summary
		NewDecoder().Summarize(fr, len(fr), &fresh)
		warm.Summarize(fr, len(fr), &reused)
		if fresh.Protocol != reused.Protocol || string(fresh.Info()) != string(reused.Info()) ||
			string(fresh.Source()) != string(reused.Source()) || string(fresh.Destination()) != string(reused.Destination()) {
			t.Fatalf("fresh decoder: %v %q %q %q; reused: %v %q %q %q",
				fresh.Protocol, fresh.Source(), fresh.Destination(), fresh.Info(),
				reused.Protocol, reused.Source(), reused.Destination(), reused.Info())
		}
		if int(fresh.Protocol) >= len(protocolNames) || fresh.Length != len(fr) {
			t.Fatalf("summary %+v", fresh)
		}
		tree := warm.Dissect(fr)
		at := 0
		for _, n := range tree {
			if n.Offset != at {
				t.Fatalf("%q starts at %d, previous node ended at %d", n.Name, n.Offset, at)
			}
			at = n.Offset + n.Length
			checkInside(t, "fuzz", n, len(fr), false)
		}
		if at != len(fr) {
			t.Fatalf("nodes end at %d of %d bytes", at, len(fr))
		}
		filter.Match(fr)
		AppendHexDump(nil, fr)
	})
}

package wire

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// FuzzFromHost feeds arbitrary frames from the host: the wire must not panic, and every
// reply must be a well-formed frame with correct checksums.
func FuzzFromHost(f *testing.F) {
	f.Fuzz(func(t *testing.T, frame []byte) {
		w, err := New(Config{Clock: newFakeClock()})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		w.FromHost(frame)
		for _, r := range pull(w, 10) {
			if len(r) < 60 || len(r) > MaxFrameLen {
				t.Fatalf("reply of %d bytes", len(r))
			}
			if binary.BigEndian.Uint16(r[12:]) != 0x0800 {
				continue
			}
			hdr, p := ipv4Of(t, r)
			switch hdr[9] {
			case 1:
				if binary.BigEndian.Uint16(p[2:]) != inetChecksum(withZeroAt(p, 2)) {
					t.Fatalf("ICMP checksum wrong in % x", r)
				}
			case 17:
				udpOf(t, hdr, p)
			}
		}
		if s := w.Snapshot(); s.FromHost != (Count{1, uint64(len(frame))}) {
			t.Fatalf("from host %+v", s.FromHost)
		}
	})
}

// FuzzLoadPcap feeds arbitrary files to the capture reader: it must not panic, must not make
// more frame bytes than the file holds, and a capture it accepts must replay byte for byte.
func FuzzLoadPcap(f *testing.F) {
	f.Fuzz(func(t *testing.T, file []byte) {
		frames, err := LoadPcap(bytes.NewReader(file))
		if err != nil {
			return
		}
		total := 0
		for i, fr := range frames {
			if len(fr.Data) == 0 || len(fr.Data) > MaxCaptureFrameLen {
				t.Fatalf("frame %d of %d bytes", i, len(fr.Data))
			}
			total += len(fr.Data)
		}
		if total > len(file) {
			t.Fatalf("%d frame bytes from a %d-byte file", total, len(file))
		}
		w, err := New(Config{Clock: newFakeClock()})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		if err := w.Replay(frames, AsFastAsPulled); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, MaxCaptureFrameLen)
		for i, fr := range frames {
			n := w.ToHost(buf)
			if !bytes.Equal(buf[:n], fr.Data) {
				t.Fatalf("frame %d replayed as %d bytes, want %d", i, n, len(fr.Data))
			}
		}
	})
}

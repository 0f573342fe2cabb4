package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// captureFrames are frames of varied sizes, a jumbo one among them, with increasing times.
func captureFrames() []Frame {
	t0 := time.Date(2024, 5, 6, 7, 8, 9, 123456000, time.UTC)
	var frames []Frame
	for i, size := range []int{60, 61, 342, 1514, 9014, 64, 1000} {
		d := make([]byte, size)
		for j := range d {
			d[j] = byte(i*31 + j)
		}
		frames = append(frames, Frame{Time: t0.Add(time.Duration(i) * 1500 * time.Microsecond), Data: d})
	}
	return frames
}

func writePcap(t *testing.T, frames []Frame, nanos bool, linkType layers.LinkType) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	if nanos {
		w = pcapgo.NewWriterNanos(&buf)
	}
	if err := w.WriteFileHeader(65536, linkType); err != nil {
		t.Fatal(err)
	}
	for _, f := range frames {
		ci := gopacket.CaptureInfo{Timestamp: f.Time, CaptureLength: len(f.Data), Length: len(f.Data)}
		if err := w.WritePacket(ci, f.Data); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

func writePcapng(t *testing.T, frames []Frame, linkType layers.LinkType) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := pcapgo.NewNgWriter(&buf, linkType)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range frames {
		ci := gopacket.CaptureInfo{Timestamp: f.Time, CaptureLength: len(f.Data), Length: len(f.Data)}
		if err := w.WritePacket(ci, f.Data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func sameFrames(t *testing.T, got, want []Frame) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d frames, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i].Data, want[i].Data) {
			t.Errorf("frame %d: data differs (%d bytes, want %d)", i, len(got[i].Data), len(want[i].Data))
		}
		if !got[i].Time.Equal(want[i].Time) {
			t.Errorf("frame %d: time %v, want %v", i, got[i].Time, want[i].Time)
		}
	}
}

func TestLoadPcapReadsWhatPcapgoWrote(t *testing.T) {
	want := captureFrames()
	for _, c := range []struct {
		name string
		file []byte
	}{
		{"pcap microseconds", writePcap(t, want, false, layers.LinkTypeEthernet)},
		{"pcap nanoseconds", writePcap(t, want, true, layers.LinkTypeEthernet)},
		{"pcapng", writePcapng(t, want, layers.LinkTypeEthernet)},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := LoadPcap(bytes.NewReader(c.file))
			if err != nil {
				t.Fatal(err)
			}
			sameFrames(t, got, want)
		})
	}
}

func TestReplayHandsTheHostEveryFrameByteForByteInOrder(t *testing.T) {
	want := captureFrames()
	frames, err := LoadPcap(bytes.NewReader(writePcapng(t, want, layers.LinkTypeEthernet)))
	if err != nil {
		t.Fatal(err)
	}
	w, _ := newTestWire(t, Config{})
	drainReady(w)
	if err := w.Replay(frames, AsFastAsPulled); err != nil {
		t.Fatal(err)
	}
	if !drainReady(w) {
		t.Error("Replay did not signal Ready")
	}
	got := pull(w, 100)
	if len(got) != len(want) {
		t.Fatalf("replayed %d frames, want %d", len(got), len(want))
	}
	var bytesWant uint64
	for i := range want {
		if !bytes.Equal(got[i], want[i].Data) {
			t.Errorf("frame %d differs", i)
		}
		bytesWant += uint64(len(want[i].Data))
	}
	s := w.Snapshot()
	if s.ReplayPos != len(want) || s.ReplayLen != len(want) || s.ToHostByKind[KindReplay] != (Count{uint64(len(want)), bytesWant}) {
		t.Errorf("snapshot: replay %d/%d, counted %+v", s.ReplayPos, s.ReplayLen, s.ToHostByKind[KindReplay])
	}
}

func TestReplayAtOriginalTiming(t *testing.T) {
	t0 := time.Unix(1000, 0)
	frames := []Frame{
		{t0, []byte{1}},
		{t0.Add(10 * time.Millisecond), []byte{2}},
		{t0.Add(10 * time.Millisecond), []byte{3}},
		{t0.Add(5 * time.Millisecond), []byte{4}}, // a time running backwards keeps its place
		{t0.Add(time.Second), []byte{5}},
	}
	w, clk := newTestWire(t, Config{})
	if err := w.Replay(frames, OriginalTiming); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		advance time.Duration
		want    []byte
	}{
		{0, []byte{1}},
		{9 * time.Millisecond, nil},
		{time.Millisecond, []byte{2, 3, 4}},
		{989 * time.Millisecond, nil},
		{time.Millisecond, []byte{5}},
		{time.Hour, nil},
	}
	for i, st := range steps {
		clk.Advance(st.advance)
		ready := drainReady(w)
		var got []byte
		for _, f := range pull(w, 10) {
			got = append(got, f...)
		}
		if !bytes.Equal(got, st.want) {
			t.Errorf("step %d: got frames %v, want %v", i, got, st.want)
		}
		if i > 0 && st.want != nil && !ready {
			t.Errorf("step %d: Ready was not signalled", i)
		}
	}
}

func TestReplayRefusesEmptyFramesAndUnknownTimings(t *testing.T) {
	w, _ := newTestWire(t, Config{})
	if err := w.Replay([]Frame{{Data: []byte{1}}, {}}, AsFastAsPulled); err == nil || !strings.Contains(err.Error(), "frame 1") {
		t.Errorf("empty frame: %v", err)
	}
	if err := w.Replay(nil, 7); err == nil {
		t.Error("timing 7 accepted")
	}
}

// pcapngBlock writes a block in the given byte order: type, total length, body padded to 4
// bytes, total length again.
func pcapngBlock(order byteOrder, typ uint32, body []byte) []byte {
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	n := uint32(12 + len(body))
	b := order.AppendUint32(nil, typ)
	b = order.AppendUint32(b, n)
	b = append(b, body...)
	return order.AppendUint32(b, n)
}

func pcapngSection(order byteOrder) []byte {
	body := order.AppendUint32(nil, 0x1a2b3c4d)
	body = order.AppendUint16(body, 1)
	body = order.AppendUint16(body, 0)
	body = order.AppendUint64(body, ^uint64(0)) // section length unknown
	return pcapngBlock(order, 0x0a0d0d0a, body)
}

// pcapngInterface describes an interface with the given link type and options, each a code
// followed by its value.
func pcapngInterface(order byteOrder, linkType uint16, snapLen uint32, opts ...[]byte) []byte {
	body := order.AppendUint16(nil, linkType)
	body = order.AppendUint16(body, 0)
	body = order.AppendUint32(body, snapLen)
	for _, o := range opts {
		body = order.AppendUint16(body, uint16(o[0]))
		body = order.AppendUint16(body, uint16(len(o)-1))
		body = append(body, o[1:]...)
		for len(body)%4 != 0 {
			body = append(body, 0)
		}
	}
	if len(opts) > 0 {
		body = append(body, 0, 0, 0, 0) // opt_endofopt
	}
	return pcapngBlock(order, 1, body)
}

func pcapngEnhanced(order byteOrder, ifID uint32, ts uint64, data []byte) []byte {
	body := order.AppendUint32(nil, ifID)
	body = order.AppendUint32(body, uint32(ts>>32))
	body = order.AppendUint32(body, uint32(ts))
	body = order.AppendUint32(body, uint32(len(data)))
	body = order.AppendUint32(body, uint32(len(data)))
	return pcapngBlock(order, 6, append(body, data...))
}

func TestLoadPcapngWrittenByHand(t *testing.T) {
	be, le := binary.BigEndian, binary.LittleEndian
	frameA := bytes.Repeat([]byte{0xaa}, 61)
	frameB := bytes.Repeat([]byte{0xbb}, 60)
	frameC := bytes.Repeat([]byte{0xcc}, 63)
	obsolete := le.AppendUint16(nil, 1) // interface 1
	obsolete = le.AppendUint16(obsolete, 0)
	obsolete = le.AppendUint32(obsolete, 0)
	obsolete = le.AppendUint32(obsolete, 2_000_000) // 2 s in microseconds
	obsolete = le.AppendUint32(obsolete, 60)
	obsolete = le.AppendUint32(obsolete, 60)
	file := bytes.Join([][]byte{
		// A big-endian section, nanosecond timestamps (if_tsresol 9) and an unknown block.
		pcapngSection(be),
		pcapngInterface(be, 1, 0, []byte{9, 9}),
		pcapngBlock(be, 4, []byte{0, 0, 0, 0}), // name resolution: skipped
		pcapngEnhanced(be, 0, 1_500_000_001, frameA),
		// A little-endian section: interface 0 counts 2^-10 s since offset 100 s, interface 1
		// microseconds; a simple packet block and an obsolete packet block.
		pcapngSection(le),
		pcapngInterface(le, 1, 0, []byte{9, 0x8a}, append([]byte{14}, le.AppendUint64(nil, 100)...)),
		pcapngInterface(le, 1, 0),
		pcapngEnhanced(le, 0, 3*1024+512, frameC),
		pcapngBlock(le, 3, append(le.AppendUint32(nil, 61), frameA...)),
		pcapngBlock(le, 2, append(obsolete, frameB...)),
	}, nil)
	got, err := LoadPcap(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	want := []Frame{
		{time.Unix(1, 500_000_001), frameA},
		{time.Unix(103, 500_000_000), frameC},
		{time.Unix(103, 500_000_000), frameA}, // no timestamp: the previous frame's
		{time.Unix(2, 0), frameB},
	}
	sameFrames(t, got, want)
}

func TestLoadPcapErrorsSayWhatAndWhere(t *testing.T) {
	frames := captureFrames()[:3] // 60, 61 and 342 bytes
	pcap := writePcap(t, frames, false, layers.LinkTypeEthernet)
	ng := writePcapng(t, frames, layers.LinkTypeEthernet)
	// Offsets in the classic file: a 24-byte header, then 16-byte records and their data.
	rec1, rec2 := 24+16+60, 24+16+60+16+61
	patch := func(b []byte, off int, v ...byte) []byte {
		c := append([]byte(nil), b...)
		copy(c[off:], v)
		return c
	}
	le := binary.LittleEndian
	// The pcapng writer's section header and interface lengths, to find its first packet.
	shbLen := int(le.Uint32(ng[4:]))
	idbLen := int(le.Uint32(ng[shbLen+4:]))
	epb := shbLen + idbLen
	tests := []struct {
		name    string
		file    []byte
		wantErr []string // substrings of the message
		is      error
	}{
		{"empty", nil, []string{"empty"}, nil},
		{"shorter than the file header", pcap[:10], []string{"file header at offset 0 is truncated"}, io.ErrUnexpectedEOF},
		{"unknown magic", patch(pcap, 0, 'G', 'I', 'F', '8'), []string{"magic number 47 49 46 38"}, nil},
		{"version 3", patch(pcap, 4, 3), []string{"version 3.4 at offset 4"}, nil},
		{"not Ethernet", writePcap(t, frames, false, layers.LinkTypeRaw), []string{"link type 101 at offset 20"}, ErrNotEthernet},
		{"record header cut", pcap[:rec2+10], []string{"frame 2's record header at offset " + fmt.Sprint(rec2) + " is truncated"}, io.ErrUnexpectedEOF},
		{"data cut", pcap[:len(pcap)-1], []string{"frame 2's 342 bytes at offset " + fmt.Sprint(rec2+16) + " is truncated"}, io.ErrUnexpectedEOF},
		{"captured length past the limit", patch(pcap, rec1+8, 0x01, 0x00, 0x10, 0x00), []string{"frame 1 at offset " + fmt.Sprint(rec1), "captured length 1048577 exceeds 262144"}, nil},
		{"captured length past the frame's", patch(pcap, rec1+12, 60), []string{"frame 1 at offset " + fmt.Sprint(rec1), "captured length 61 exceeds the frame's length 60"}, nil},
		{"captured length zero", patch(pcap, rec1+8, 0, 0, 0, 0), []string{"frame 1 at offset " + fmt.Sprint(rec1), "captured length is 0"}, nil},
		{"pcapng byte-order magic", patch(ng, 8, 1, 2, 3, 4), []string{"section header at offset 0", "byte-order magic"}, nil},
		{"pcapng version 2", patch(ng, 12, 2), []string{"section header at offset 0: version 2.0"}, nil},
		{"pcapng block length not a multiple of 4", patch(ng, epb+4, 0x4e), []string{fmt.Sprintf("block type 0x6 at offset %d: length ", epb), "multiple of 4"}, nil},
		{"pcapng block length past the limit", patch(ng, epb+4, 0, 0, 0, 0x40), []string{fmt.Sprintf("block type 0x6 at offset %d: length 1073741824 exceeds", epb)}, nil},
		{"pcapng trailing length differs", patch(ng, epb+int(le.Uint32(ng[epb+4:]))-4, 0xff), []string{fmt.Sprintf("block type 0x6 at offset %d: trailing length", epb)}, nil},
		{"pcapng truncated", ng[:len(ng)-3], []string{"is truncated"}, io.ErrUnexpectedEOF},
		{"pcapng undescribed interface", patch(ng, epb+8, 3), []string{fmt.Sprintf("frame 0 at offset %d: interface 3 is not described (the section has 1)", epb)}, nil},
		{"pcapng captured length past the block", patch(ng, epb+20, 0xff, 0x00), []string{fmt.Sprintf("frame 0 at offset %d", epb), "captured length 255"}, nil},
		{"pcapng not Ethernet", writePcapng(t, frames, layers.LinkTypeRaw), []string{"frame 0 at offset", "interface 0 has link type 101"}, ErrNotEthernet},
		{"pcapng packet before an interface", bytes.Join([][]byte{pcapngSection(le), pcapngEnhanced(le, 0, 0, frames[0].Data)}, nil), []string{"frame 0 at offset 28: interface 0 is not described (the section has 0)"}, nil},
		{"pcapng timestamp resolution 10^-20", bytes.Join([][]byte{pcapngSection(le), pcapngInterface(le, 1, 0, []byte{9, 20})}, nil), []string{"interface description at offset 28", "if_tsresol 0x14"}, nil},
		{"pcapng timestamp resolution 2^-64", bytes.Join([][]byte{pcapngSection(le), pcapngInterface(le, 1, 0, []byte{9, 0xc0})}, nil), []string{"if_tsresol 0xc0"}, nil},
		{"pcapng option past its block", bytes.Join([][]byte{pcapngSection(le), pcapngBlock(le, 1, []byte{1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 40, 0})}, nil), []string{"option 2 of 40 bytes runs past the block"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frames, err := LoadPcap(bytes.NewReader(tt.file))
			if err == nil {
				t.Fatalf("no error; %d frames", len(frames))
			}
			for _, s := range tt.wantErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %q does not wrap %v", err, tt.is)
			}
		})
	}
}

// failingReader returns its data and then an error other than EOF.
type failingReader struct{ data []byte }

func (r *failingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, errors.New("disk on fire")
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestLoadPcapPassesOnReadErrors(t *testing.T) {
	pcap := writePcap(t, captureFrames()[:2], false, layers.LinkTypeEthernet)
	_, err := LoadPcap(&failingReader{pcap[:50]})
	if err == nil || !strings.Contains(err.Error(), "disk on fire") || !strings.Contains(err.Error(), "frame 0") {
		t.Errorf("error %v", err)
	}
}

// byteOrder is binary.LittleEndian or binary.BigEndian, which both read and append.
type byteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

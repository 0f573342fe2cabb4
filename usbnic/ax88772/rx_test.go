package ax88772

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"webminiport/usbnic"
)

// collect is a FrameSink that keeps a copy of every frame.
type collect struct{ frames [][]byte }

func (c *collect) Frame(f []byte) { c.frames = append(c.frames, append([]byte(nil), f...)) }

// count is a FrameSink that only counts.
type count struct{ frames, bytes int }

func (c *count) Frame(f []byte) { c.frames++; c.bytes += len(f) }

var _ usbnic.FrameSink = (*count)(nil)

var (
	// 15 bytes, odd: its record carries a pad byte.
	frameX = []byte{
		0x01, 0x00, 0x5e, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x08, 0x00,
		0x45,
	}
	// 18 bytes, even.
	frameY = []byte{
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06,
		0xde, 0xad, 0xbe, 0xef,
	}
	// recX and recY are their records, written out: LE32 L | ^L << 16, the frame, the pad.
	recX = []byte{
		0x0f, 0x00, 0xf0, 0xff,
		0x01, 0x00, 0x5e, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x08, 0x00,
		0x45,
		0x00, // pad to even
	}
	recY = []byte{
		0x12, 0x00, 0xed, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06,
		0xde, 0xad, 0xbe, 0xef,
	}
	emptyRecord = []byte{0x00, 0x00, 0xff, 0xff}
)

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// stream encodes frames as §2.5 describes the chip sending them; for the long and random
// streams whose bytes are pointless to write out.
func stream(frames ...[]byte) []byte {
	var b []byte
	for _, f := range frames {
		l := uint32(len(f))
		b = binary.LittleEndian.AppendUint32(b, l|^l<<16)
		b = append(b, f...)
		if len(f)%2 == 1 {
			b = append(b, 0)
		}
	}
	return b
}

// feed runs transfers through one driver and returns the frames and the errors per transfer.
func feed(m *Minidriver, transfers ...[]byte) ([][]byte, []error) {
	var c collect
	var errs []error
	for _, t := range transfers {
		if err := m.RxFixup(nil, t, &c); err != nil {
			errs = append(errs, err)
		}
	}
	return c.frames, errs
}

func TestStreamEncoderMatchesHandWrittenRecords(t *testing.T) {
	if !bytes.Equal(stream(frameX, frameY), cat(recX, recY)) {
		t.Fatal("test encoder disagrees with the hand-written records")
	}
}

func TestRxStreamGolden(t *testing.T) {
	big := bytes.Repeat([]byte{0xa5}, 1518)
	for _, tc := range []struct {
		name      string
		transfers [][]byte
		frames    [][]byte
	}{
		{"one record", [][]byte{recY}, [][]byte{frameY}},
		{"odd record with pad, then even", [][]byte{cat(recX, recY)}, [][]byte{frameX, frameY}},
		{"header split 2+2", [][]byte{cat(recY, recX[:2]), cat(recX[2:], recY)}, [][]byte{frameY, frameX, frameY}},
		{"frame split across transfers", [][]byte{recX[:12], cat(recX[12:], recY)}, [][]byte{frameX, frameY}},
		{"frame split across three transfers", [][]byte{recY[:6], recY[6:14], recY[14:]}, [][]byte{frameY}},
		{"2-byte transfer completes a split header", [][]byte{cat(recY, recX[:2]), recX[2:4], recX[4:]}, [][]byte{frameY, frameX}},
		{"empty transfers change nothing", [][]byte{{}, recX[:8], {}, recX[8:]}, [][]byte{frameX}},
		{"empty record is skipped", [][]byte{cat(recX, emptyRecord, recY)}, [][]byte{frameX, frameY}},
		{"1518 bytes is the longest frame", [][]byte{stream(big)}, [][]byte{big}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			frames, errs := feed(New(), tc.transfers...)
			if len(errs) != 0 {
				t.Fatalf("errors: %v", errs)
			}
			wantFrames(t, frames, tc.frames...)
		})
	}
}

// rxChecks violates each Linux check of §2.5; the fuzz seeds in testdata/fuzz/FuzzRxStream are
// these transfer sequences.
var rxChecks = []struct {
	name      string
	transfers [][]byte
	check     RxCheck
	offset    int
	frames    [][]byte
}{
	// The continuation of recX was lost: the next transfer starts with recY, and the header
	// expected after X's 7 missing bytes (offset 8) is frame bytes ff ff 02 00.
	{"1 sync lost", [][]byte{recX[:12], recY}, CheckSyncLost, 8, [][]byte{frameY}},
	{"short header", [][]byte{cat(recY, []byte{0x01, 0x02, 0x03})}, CheckShortHeader, 22, [][]byte{frameY}},
	{"3 bad header", [][]byte{cat([]byte{0x12, 0x00, 0xee, 0xff}, frameY)}, CheckBadHeader, 0, nil},
	{"3 bad header completing a split", [][]byte{{0x0f, 0x00}, {0xf1, 0xff, 0x00, 0x00}}, CheckBadHeader, 0, nil},
	{"4 longer than MTU+18", [][]byte{{0xef, 0x05, 0x10, 0xfa, 0x00, 0x00}}, CheckTooLong, 0, nil},
	{"6 a byte after the last record", [][]byte{cat(recY, []byte{0x00})}, CheckTrailingBytes, 22, [][]byte{frameY}},
	{"6 odd frame ends without its pad", [][]byte{recX[:19]}, CheckTrailingBytes, 20, [][]byte{frameX}},
}

func TestRxStreamEveryLinuxCheck(t *testing.T) {
	for _, tc := range rxChecks {
		t.Run(tc.name, func(t *testing.T) {
			m := New()
			frames, errs := feed(m, tc.transfers...)
			var re *RxError
			if len(errs) != 1 || !errors.As(errs[0], &re) {
				t.Fatalf("errors %v, want one *RxError", errs)
			}
			if re.Check != tc.check || re.Offset != tc.offset {
				t.Errorf("got %v (%+v), want %v at offset %d", errs[0], *re, tc.check, tc.offset)
			}
			wantFrames(t, frames, tc.frames...)
			t.Log(errs[0])
			// Whatever went wrong, a transfer that starts at a record parses cleanly next.
			frames, errs = feed(m, cat(recX, recY))
			if len(errs) != 0 {
				t.Fatalf("after the error: %v", errs)
			}
			wantFrames(t, frames, frameX, frameY)
		})
	}
}

func TestRxSyncLostThenBadHeaderReportsBoth(t *testing.T) {
	// X is in progress with 7 bytes to go; the next transfer is garbage both at the expected
	// header and at its start.
	_, errs := feed(New(), recX[:12], bytes.Repeat([]byte{0x11}, 16))
	var re *RxError
	if len(errs) != 1 || !errors.As(errs[0], &re) || re.Check != CheckSyncLost {
		t.Fatalf("errors %v", errs)
	}
	if want := "ax88772 rx: data header synchronisation lost: header 0x11111111 at offset 8 of 16 after a frame with 7 bytes to go; " +
		"then ax88772 rx: bad header length: header 0x11111111 (length 273) at offset 0 of 16"; errs[0].Error() != want {
		t.Errorf("error\n%q\nwant\n%q", errs[0], want)
	}
}

func TestRxStreamHonoursSmallerHardMTU(t *testing.T) {
	d := &usbnic.Device{HardMTU: 14}
	if err := New().RxFixup(d, stream(fill(19)), &count{}); err == nil {
		t.Fatal("19-byte frame accepted with hard MTU 14 (limit 18)")
	}
	if err := New().RxFixup(d, stream(fill(18)), &count{}); err != nil {
		t.Fatal(err)
	}
}

func wantFrames(t *testing.T, got [][]byte, want ...[]byte) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d frames, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("frame %d:\n got % x\nwant % x", i, got[i], want[i])
		}
	}
}

// split cuts b at the given offsets (sorted, repeats allowed) into transfers.
func split(b []byte, cuts ...int) [][]byte {
	var out [][]byte
	prev := 0
	for _, c := range cuts {
		out = append(out, b[prev:c])
		prev = c
	}
	return append(out, b[prev:])
}

// fixedFrames covers odd and even lengths from 1 byte to the longest, with contents that differ
// per frame.
func fixedFrames() [][]byte {
	var frames [][]byte
	for i, n := range []int{1, 2, 14, 15, 60, 61, 1518, 3} {
		f := make([]byte, n)
		for j := range f {
			f[j] = byte(0x30 + i)
		}
		frames = append(frames, f)
	}
	return frames
}

// TestRxStreamEverySplitPosition cuts one stream at every byte position. The chip writes
// records on even offsets and bulk packets have even sizes, so every even cut must deliver
// every frame. An odd cut is something Linux cannot parse: the transfer before it must report
// an error after delivering the frames that ended before the cut, and a transfer that starts
// at a record must parse cleanly afterwards (at most reporting the lost synchronisation).
func TestRxStreamEverySplitPosition(t *testing.T) {
	frames := fixedFrames()
	s := stream(frames...)
	for p := 0; p <= len(s); p++ {
		m := New()
		got, errs := feed(m, split(s, p)...)
		if p%2 == 0 {
			if len(errs) != 0 {
				t.Fatalf("cut at %d: %v", p, errs)
			}
			wantFrames(t, got, frames...)
			continue
		}
		before, errsA := feed(New(), s[:p])
		if len(errsA) != 1 {
			t.Fatalf("cut at %d: first transfer errors %v, want one", p, errsA)
		}
		wantFrames(t, before, framesEndingBy(frames, p)...)
		if len(got) < len(before) {
			t.Fatalf("cut at %d: %d frames overall, fewer than the %d before the cut", p, len(got), len(before))
		}
		wantFrames(t, got[:len(before)], before...)
		after, errs3 := feed(m, s)
		for _, err := range errs3 {
			var re *RxError
			if !errors.As(err, &re) || re.Check != CheckSyncLost {
				t.Fatalf("cut at %d: clean transfer after the damage: %v", p, err)
			}
		}
		wantFrames(t, after, frames...)
	}
}

// framesEndingBy lists the frames whose data ends at or before offset p of their stream.
func framesEndingBy(frames [][]byte, p int) [][]byte {
	var out [][]byte
	off := 0
	for _, f := range frames {
		end := off + 4 + len(f)
		if end > p {
			break
		}
		out = append(out, f)
		off = end + len(f)%2
	}
	return out
}

func TestRxStreamEveryPairOfEvenCuts(t *testing.T) {
	frames := [][]byte{frameX, frameY, {0x01}, frameX}
	s := stream(frames...)
	for p := 0; p <= len(s); p += 2 {
		for q := p; q <= len(s); q += 2 {
			got, errs := feed(New(), split(s, p, q)...)
			if len(errs) != 0 {
				t.Fatalf("cuts %d, %d: %v", p, q, errs)
			}
			wantFrames(t, got, frames...)
		}
	}
}

// TestRxStreamRandomEvenSplits is the property test: random frames (empty records among them),
// cut at random even offsets into random numbers of transfers, come out exactly as they went in.
func TestRxStreamRandomEvenSplits(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0x772))
	for iter := range 300 {
		var frames, want [][]byte
		for range 1 + rng.IntN(12) {
			f := make([]byte, rng.IntN(maxFrameLen+1))
			for i := range f {
				f[i] = byte(rng.Uint32())
			}
			frames = append(frames, f)
			if len(f) > 0 {
				want = append(want, f)
			}
		}
		s := stream(frames...)
		cuts := make([]int, rng.IntN(8))
		for i := range cuts {
			cuts[i] = 2 * rng.IntN(len(s)/2+1)
		}
		sortInts(cuts)
		m := New()
		got, errs := feed(m, split(s, cuts...)...)
		if len(errs) != 0 {
			t.Fatalf("seed %d iteration %d cuts %v: %v", seed, iter, cuts, errs)
		}
		if len(got) != len(want) {
			t.Fatalf("seed %d iteration %d cuts %v: %d frames, want %d", seed, iter, cuts, len(got), len(want))
		}
		for i := range want {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("seed %d iteration %d cuts %v: frame %d differs", seed, iter, cuts, i)
			}
		}
	}
}

func sortInts(a []int) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

// FuzzRxStream feeds the fuzzed bytes as transfers whose lengths come from the second input.
// Beyond not panicking and delivering only frames the bytes can hold, it checks the property
// the even-split tests check: when the bytes parse cleanly as one transfer and every cut falls
// on an even offset, the transfers give the same frames with no error.
func FuzzRxStream(f *testing.F) {
	f.Add(cat(recX, recY), []byte{12})
	f.Fuzz(func(t *testing.T, data, cutLens []byte) {
		var transfers [][]byte
		even := true
		rest := data
		for _, c := range cutLens {
			n := min(int(c), len(rest))
			if n%2 == 1 {
				even = false
			}
			transfers = append(transfers, rest[:n])
			rest = rest[n:]
		}
		transfers = append(transfers, rest)

		got, errs := feed(New(), transfers...)
		total := 0
		for _, fr := range got {
			if len(fr) == 0 || len(fr) > maxFrameLen {
				t.Fatalf("delivered a %d-byte frame", len(fr))
			}
			total += 4 + len(fr)
		}
		if total > len(data) {
			t.Fatalf("delivered %d bytes of records from %d bytes", total, len(data))
		}
		for _, err := range errs {
			var re *RxError
			if !errors.As(err, &re) || re.Check < CheckSyncLost || re.Check > CheckTrailingBytes {
				t.Fatalf("error %v is not a known RxError", err)
			}
		}

		whole, wholeErrs := feed(New(), data)
		if len(wholeErrs) != 0 || !even {
			return
		}
		if len(errs) != 0 {
			t.Fatalf("cuts %v: %v, but the bytes parse as one transfer", cutLens, errs)
		}
		if len(got) != len(whole) {
			t.Fatalf("cuts %v: %d frames, one transfer gives %d", cutLens, len(got), len(whole))
		}
		for i := range whole {
			if !bytes.Equal(got[i], whole[i]) {
				t.Fatalf("cuts %v: frame %d differs", cutLens, i)
			}
		}
	})
}

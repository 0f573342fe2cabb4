package ax88772

import (
	"encoding/binary"
	"fmt"

	"webminiport/usbnic"
)

// The bulk-IN data is a stream of records (specs/usbnic.md §2.5): a 4-byte LE header holding
// the frame length L in bits 0-10 and its one's complement in bits 16-26, L frame bytes, and one
// pad byte when L is odd. A record may run on into the next transfer, and so may the header,
// split 2+2. This is asix_rx_fixup_internal with its state kept in rxState between transfers.

// rxState is the stream parser's state between transfers.
type rxState struct {
	remaining int    // bytes of the frame in progress still to come
	size      int    // length of the frame in progress
	have      int    // bytes of it already gathered in frame
	header    uint32 // the header being assembled when splitHead
	splitHead bool   // the last transfer ended with the first half of a header
	frame     []byte // reassembly buffer for frames that span transfers
}

func (s *rxState) reset() {
	s.remaining, s.size, s.have, s.header, s.splitHead = 0, 0, 0, 0, false
}

// RxCheck names the Linux asix_rx_fixup_internal check a transfer failed.
type RxCheck int

// The checks, in the order Linux makes them.
const (
	// CheckSyncLost: a frame was in progress, but the header expected right after its remainder
	// is not a valid header; the partial frame is dropped and the transfer parsed from its start.
	CheckSyncLost RxCheck = iota + 1
	// CheckShortHeader: 3 bytes left at a header position (a 2-byte split is fine; 1 or 3 are not).
	CheckShortHeader
	// CheckBadHeader: the length and its complement disagree.
	CheckBadHeader
	// CheckTooLong: the length exceeds MTU + 14 + 4.
	CheckTooLong
	// CheckTrailingBytes: the records do not end exactly at the end of the transfer.
	CheckTrailingBytes
)

var checkNames = [...]string{
	CheckSyncLost:      "data header synchronisation lost",
	CheckShortHeader:   "short data header",
	CheckBadHeader:     "bad header length",
	CheckTooLong:       "frame longer than MTU+18",
	CheckTrailingBytes: "records do not end at the transfer's end",
}

func (c RxCheck) String() string {
	if c > 0 && int(c) < len(checkNames) {
		return checkNames[c]
	}
	return fmt.Sprintf("RxCheck(%d)", int(c))
}

// RxError is a transfer that failed a Linux check. Frames delivered before it stay delivered;
// after any check but CheckSyncLost the parser state is reset and the rest of the transfer is
// dropped, after CheckSyncLost parsing went on from offset 0.
type RxError struct {
	Check     RxCheck
	Offset    int    // where in the transfer: the header's first byte, or the parse offset
	Header    uint32 // the header that failed, for the header checks
	Remaining int    // bytes of the dropped partial frame still expected (CheckSyncLost)
	Len       int    // transfer length
}

func (e *RxError) Error() string {
	switch e.Check {
	case CheckSyncLost:
		return fmt.Sprintf("ax88772 rx: %s: header 0x%08x at offset %d of %d after a frame with %d bytes to go",
			e.Check, e.Header, e.Offset, e.Len, e.Remaining)
	case CheckShortHeader:
		return fmt.Sprintf("ax88772 rx: %s: %d bytes at offset %d of %d", e.Check, e.Len-e.Offset, e.Offset, e.Len)
	case CheckBadHeader, CheckTooLong:
		return fmt.Sprintf("ax88772 rx: %s: header 0x%08x (length %d) at offset %d of %d",
			e.Check, e.Header, e.Header&0x7ff, e.Offset, e.Len)
	}
	return fmt.Sprintf("ax88772 rx: %s: parsed to offset %d of %d", e.Check, e.Offset, e.Len)
}

func validHeader(h uint32) bool { return h&0x7ff == ^h>>16&0x7ff }

// RxFixup parses one bulk-IN transfer of the record stream. A frame that lies inside the
// transfer is handed to sink as a sub-slice of it; a frame that spans transfers is gathered in
// the preallocated reassembly buffer. Nothing is allocated unless a check fails.
func (m *Minidriver) RxFixup(d *usbnic.Device, t []byte, sink usbnic.FrameSink) error {
	s := &m.rx
	if s.frame == nil {
		s.frame = make([]byte, maxFrameLen) // a zero Minidriver: allocate once
	}
	limit := maxFrameLen
	if d != nil && d.HardMTU > 0 && d.HardMTU+4 < limit {
		limit = d.HardMTU + 4
	}

	// A frame in progress: check the header that should follow its remainder, so that a lost
	// or truncated transfer does not glue unrelated bytes onto it. Linux looks only when the
	// transfer holds the remainder plus 4 bytes, and then reads 4 bytes at the remainder
	// rounded up to even, one byte past the data when the remainder is odd and the transfer
	// exactly remainder+4 long; we look only at bytes that exist.
	var syncLost RxError
	if s.remaining > 0 && s.remaining+4 <= len(t) {
		at := (s.remaining + 1) &^ 1
		if at+4 <= len(t) {
			if h := binary.LittleEndian.Uint32(t[at:]); !validHeader(h) {
				syncLost = RxError{Check: CheckSyncLost, Offset: at, Header: h, Remaining: s.remaining, Len: len(t)}
				s.reset()
			}
		}
	}

	off := 0
	for off+2 <= len(t) {
		if s.remaining == 0 {
			at := off
			// Linux tests for a 2-byte tail before it completes a split header, so a 2-byte
			// transfer carrying a header's second half becomes a new first half and the stream
			// falls out of step; we complete the header first.
			switch {
			case s.splitHead:
				s.header |= uint32(binary.LittleEndian.Uint16(t[off:])) << 16
				s.splitHead = false
				off += 2
			case len(t)-off == 2:
				// The header's first half ends this transfer; the second starts the next.
				s.header = uint32(binary.LittleEndian.Uint16(t[off:]))
				s.splitHead = true
				off += 2
				continue
			case off+4 > len(t):
				s.reset()
				return rxFailed(RxError{Check: CheckShortHeader, Offset: at, Len: len(t)}, syncLost)
			default:
				s.header = binary.LittleEndian.Uint32(t[off:])
				off += 4
			}
			size := int(s.header & 0x7ff)
			if !validHeader(s.header) {
				h := s.header
				s.reset()
				return rxFailed(RxError{Check: CheckBadHeader, Offset: at, Header: h, Len: len(t)}, syncLost)
			}
			if size > limit {
				h := s.header
				s.reset()
				return rxFailed(RxError{Check: CheckTooLong, Offset: at, Header: h, Len: len(t)}, syncLost)
			}
			// An empty record (00 00 FF FF, the TX pad pattern) passes the checks; Linux hands
			// an empty buffer up, we skip it.
			s.remaining, s.size, s.have = size, size, 0
			if size == 0 {
				continue
			}
		}
		n := min(s.remaining, len(t)-off)
		if s.have == 0 && n == s.size {
			sink.Frame(t[off : off+n]) // the whole frame is here
		} else {
			s.have += copy(s.frame[s.have:s.size], t[off:off+n])
			if s.have == s.size {
				sink.Frame(s.frame[:s.size])
			}
		}
		s.remaining -= n
		// Records start on even offsets: skip the pad byte after an odd length. At the end of
		// a transfer this steps past its end, which the check below reports.
		off += (n + 1) &^ 1
	}
	if off != len(t) {
		s.reset()
		return rxFailed(RxError{Check: CheckTrailingBytes, Offset: off, Len: len(t)}, syncLost)
	}
	if syncLost.Check != 0 {
		return rxFailed(syncLost, RxError{})
	}
	return nil
}

// rxFailed reports e; a synchronisation loss earlier in the same transfer is named too, since
// it dropped a frame as well. Taking the errors by value keeps them off the heap until a
// transfer fails.
func rxFailed(e, syncLost RxError) error {
	if syncLost.Check != 0 && e.Check != CheckSyncLost {
		return &rxErrors{first: syncLost, last: e}
	}
	return &e
}

// rxErrors is a transfer that lost synchronisation and then failed another check.
type rxErrors struct{ first, last RxError }

func (e *rxErrors) Error() string { return e.first.Error() + "; then " + e.last.Error() }

// Unwrap gives both errors, so errors.As finds the *RxError for either check.
func (e *rxErrors) Unwrap() []error { return []error{&e.first, &e.last} }

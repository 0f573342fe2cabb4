package wire

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"time"
)

// The capture reader is written here rather than taken from gopacket's pcapgo: pcapgo v1.1.19
// allocates a packet's captured length before reading it (a corrupt length of 4 GiB ends a
// wasm program), divides by zero on an if_tsresol of 2^-64 or 10^-64 and up, and its errors
// do not say where the file went wrong. Tests write their captures with pcapgo, so the two
// check each other.

// ErrNotEthernet is wrapped by LoadPcap's error for a capture whose link type is not Ethernet.
var ErrNotEthernet = errors.New("link type is not Ethernet")

// MaxCaptureFrameLen bounds one captured frame: libpcap's largest snapshot length. A longer
// captured length marks a corrupt file, and the bound keeps one from reserving gigabytes.
const MaxCaptureFrameLen = 262144

const (
	linkTypeEthernet = 1 // LINKTYPE_ETHERNET

	pcapMagicMicro = 0xa1b2c3d4 // classic pcap, microsecond timestamps
	pcapMagicNano  = 0xa1b23c4d // classic pcap, nanosecond timestamps
	pcapHeaderLen  = 24
	pcapRecordLen  = 16

	ngSectionHeader   = 0x0a0d0d0a // reads the same in either byte order
	ngByteOrderMagic  = 0x1a2b3c4d
	ngInterfaceDesc   = 1
	ngPacket          = 2 // obsolete, still written by old tools
	ngSimplePacket    = 3
	ngEnhancedPacket  = 6
	ngMinBlockLen     = 12 // type, length, trailing length
	ngMinSectionLen   = 28 // and byte-order magic, version and section length
	ngMaxBlockLen     = MaxCaptureFrameLen + 65536
	ngOptEnd          = 0
	ngOptTSResolution = 9
	ngOptTSOffset     = 14
)

// LoadPcap reads a classic pcap or pcapng capture of Ethernet frames, for Replay. A file that
// is truncated or corrupt gives an error naming what was wrong and at which byte offset; one
// whose link type is not Ethernet gives an error wrapping ErrNotEthernet, and a truncated
// one an error wrapping io.ErrUnexpectedEOF.
func LoadPcap(r io.Reader) ([]Frame, error) {
	c := &captureReader{r: bufio.NewReader(r)}
	magic, err := c.r.Peek(4)
	if len(magic) == 0 && err == io.EOF {
		return nil, errors.New("pcap: the file is empty")
	}
	if err != nil && err != io.EOF {
		return nil, fmt.Errorf("pcap: reading the file header: %w", err)
	}
	if len(magic) == 4 && binary.LittleEndian.Uint32(magic) == ngSectionHeader {
		return c.readPcapng()
	}
	return c.readPcap()
}

// captureReader reads a capture and keeps the offset of the next byte for error messages.
type captureReader struct {
	r   *bufio.Reader
	off int64
}

// read fills b. It returns io.EOF when the input ended before b's first byte and
// io.ErrUnexpectedEOF when it ended inside b.
func (c *captureReader) read(b []byte) error {
	n, err := io.ReadFull(c.r, b)
	c.off += int64(n)
	return err
}

func (c *captureReader) skip(n int) error {
	m, err := c.r.Discard(n)
	c.off += int64(m)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// readErr describes a failed read of what, which starts at offset at, in a file of the named
// format.
func readErr(fileFormat, what string, at int64, err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return fmt.Errorf("%s: %s at offset %d is truncated: %w", fileFormat, what, at, io.ErrUnexpectedEOF)
	}
	return fmt.Errorf("%s: reading %s at offset %d: %w", fileFormat, what, at, err)
}

func (c *captureReader) readPcap() ([]Frame, error) {
	var h [pcapHeaderLen]byte
	if err := c.read(h[:]); err != nil {
		return nil, readErr("pcap", "the file header", 0, err)
	}
	var order binary.ByteOrder
	var nano bool
	switch m := h[:4]; {
	case binary.LittleEndian.Uint32(m) == pcapMagicMicro:
		order = binary.LittleEndian
	case binary.LittleEndian.Uint32(m) == pcapMagicNano:
		order, nano = binary.LittleEndian, true
	case binary.BigEndian.Uint32(m) == pcapMagicMicro:
		order = binary.BigEndian
	case binary.BigEndian.Uint32(m) == pcapMagicNano:
		order, nano = binary.BigEndian, true
	default:
		return nil, fmt.Errorf("pcap: magic number % x at offset 0 is neither pcap's nor pcapng's", m)
	}
	if major := order.Uint16(h[4:]); major != 2 {
		return nil, fmt.Errorf("pcap: version %d.%d at offset 4 is not 2.x", major, order.Uint16(h[6:]))
	}
	// The snapshot length at h[12:16] is not checked: writers disagree about it, and
	// MaxCaptureFrameLen bounds every frame. The upper 16 bits of the link type field hold
	// FCS information and reserved bits.
	if lt := order.Uint32(h[20:]) & 0xffff; lt != linkTypeEthernet {
		return nil, fmt.Errorf("pcap: link type %d at offset 20, want Ethernet (%d): %w", lt, linkTypeEthernet, ErrNotEthernet)
	}
	var frames []Frame
	for i := 0; ; i++ {
		at := c.off
		var rec [pcapRecordLen]byte
		if err := c.read(rec[:]); err == io.EOF {
			return frames, nil
		} else if err != nil {
			return nil, readErr("pcap", fmt.Sprintf("frame %d's record header", i), at, err)
		}
		sec, frac := order.Uint32(rec[0:]), order.Uint32(rec[4:])
		caplen, origlen := order.Uint32(rec[8:]), order.Uint32(rec[12:])
		if err := checkCapLen(caplen, origlen); err != nil {
			return nil, fmt.Errorf("pcap: frame %d at offset %d: %w", i, at, err)
		}
		data := make([]byte, caplen)
		if err := c.read(data); err != nil {
			return nil, readErr("pcap", fmt.Sprintf("frame %d's %d bytes", i, caplen), at+pcapRecordLen, err)
		}
		ns := int64(frac)
		if !nano {
			ns *= 1000
		}
		frames = append(frames, Frame{Time: time.Unix(int64(sec), ns).UTC(), Data: data})
	}
}

func checkCapLen(caplen, origlen uint32) error {
	switch {
	case caplen == 0:
		return errors.New("captured length is 0")
	case caplen > MaxCaptureFrameLen:
		return fmt.Errorf("captured length %d exceeds %d", caplen, MaxCaptureFrameLen)
	case caplen > origlen:
		return fmt.Errorf("captured length %d exceeds the frame's length %d", caplen, origlen)
	}
	return nil
}

// ngInterface is what an interface description block says about the frames captured on it.
type ngInterface struct {
	linkType    uint16
	snapLen     uint32
	unitsPerSec uint64 // timestamp units per second, from if_tsresol
	offsetSec   int64  // if_tsoffset
}

// time converts a timestamp of the interface's units.
func (ifc *ngInterface) time(ts uint64) time.Time {
	sec, frac := ts/ifc.unitsPerSec, ts%ifc.unitsPerSec
	hi, lo := bits.Mul64(frac, uint64(time.Second))
	ns, _ := bits.Div64(hi, lo, ifc.unitsPerSec) // frac < unitsPerSec, so the quotient fits
	return time.Unix(int64(sec)+ifc.offsetSec, int64(ns)).UTC()
}

func (c *captureReader) readPcapng() ([]Frame, error) {
	var (
		order  binary.ByteOrder
		ifaces []ngInterface
		frames []Frame
		body   []byte
		last   time.Time // simple packet blocks have no timestamp and take the previous one
	)
	for {
		at := c.off
		var h [8]byte
		if err := c.read(h[:]); err == io.EOF {
			return frames, nil
		} else if err != nil {
			return nil, readErr("pcapng", "a block header", at, err)
		}
		// The section header block's type reads the same in either byte order; its byte-order
		// magic, which follows the length, says how to read the length and all that follows.
		if binary.LittleEndian.Uint32(h[:]) == ngSectionHeader {
			var bom [4]byte
			if err := c.read(bom[:]); err != nil {
				return nil, readErr("pcapng", "a section header", at, err)
			}
			switch {
			case binary.LittleEndian.Uint32(bom[:]) == ngByteOrderMagic:
				order = binary.LittleEndian
			case binary.BigEndian.Uint32(bom[:]) == ngByteOrderMagic:
				order = binary.BigEndian
			default:
				return nil, fmt.Errorf("pcapng: section header at offset %d: byte-order magic % x is not 1a 2b 3c 4d in either order", at, bom)
			}
		}
		typ, length := order.Uint32(h[:]), order.Uint32(h[4:])
		minLen := uint32(ngMinBlockLen)
		if typ == ngSectionHeader {
			minLen = ngMinSectionLen
		}
		if length < minLen || length%4 != 0 {
			return nil, fmt.Errorf("pcapng: block type %#x at offset %d: length %d is not a multiple of 4 of at least %d", typ, at, length, minLen)
		}
		read := uint32(8) // bytes of the block read so far
		if typ == ngSectionHeader {
			read = 12
		}
		switch typ {
		case ngSectionHeader, ngInterfaceDesc, ngPacket, ngSimplePacket, ngEnhancedPacket:
			if length > ngMaxBlockLen {
				return nil, fmt.Errorf("pcapng: block type %#x at offset %d: length %d exceeds %d", typ, at, length, ngMaxBlockLen)
			}
			n := int(length - read - 4)
			if cap(body) < n {
				body = make([]byte, n)
			}
			body = body[:n]
			if err := c.read(body); err != nil {
				return nil, readErr("pcapng", fmt.Sprintf("block type %#x", typ), at, err)
			}
		default: // name resolution, statistics, decryption secrets, custom: nothing to replay
			if err := c.skip(int(length - read - 4)); err != nil {
				return nil, readErr("pcapng", fmt.Sprintf("block type %#x", typ), at, err)
			}
			body = body[:0]
		}
		var trailer [4]byte
		if err := c.read(trailer[:]); err != nil {
			return nil, readErr("pcapng", fmt.Sprintf("block type %#x's trailing length", typ), at, err)
		}
		if tl := order.Uint32(trailer[:]); tl != length {
			return nil, fmt.Errorf("pcapng: block type %#x at offset %d: trailing length %d differs from length %d", typ, at, tl, length)
		}

		var (
			ifID            uint32
			ts              uint64
			caplen, origlen uint32
			data            []byte
			hasTime         = true
		)
		switch typ {
		case ngSectionHeader:
			if major := order.Uint16(body); major != 1 {
				return nil, fmt.Errorf("pcapng: section header at offset %d: version %d.%d is not 1.x", at, major, order.Uint16(body[2:]))
			}
			ifaces = ifaces[:0] // interface numbers start again in each section
			continue
		case ngInterfaceDesc:
			ifc, err := parseInterface(order, body)
			if err != nil {
				return nil, fmt.Errorf("pcapng: interface description at offset %d: %w", at, err)
			}
			ifaces = append(ifaces, ifc)
			continue
		case ngEnhancedPacket, ngPacket:
			if len(body) < 20 {
				return nil, fmt.Errorf("pcapng: packet block at offset %d: %d bytes is too short for its fixed fields", at, len(body))
			}
			if typ == ngEnhancedPacket {
				ifID = order.Uint32(body)
			} else {
				ifID = uint32(order.Uint16(body))
			}
			ts = uint64(order.Uint32(body[4:]))<<32 | uint64(order.Uint32(body[8:]))
			caplen, origlen = order.Uint32(body[12:]), order.Uint32(body[16:])
			data = body[20:]
		case ngSimplePacket:
			if len(body) < 4 {
				return nil, fmt.Errorf("pcapng: simple packet block at offset %d: %d bytes is too short for its fixed field", at, len(body))
			}
			origlen = order.Uint32(body)
			data = body[4:]
			caplen = min(origlen, uint32(len(data))) // the block holds the frame padded to 4 bytes
			if len(ifaces) > 0 && ifaces[0].snapLen != 0 {
				caplen = min(caplen, ifaces[0].snapLen)
			}
			hasTime = false
		default:
			continue
		}
		i := len(frames)
		if ifID >= uint32(len(ifaces)) {
			return nil, fmt.Errorf("pcapng: frame %d at offset %d: interface %d is not described (the section has %d)", i, at, ifID, len(ifaces))
		}
		ifc := &ifaces[ifID]
		if ifc.linkType != linkTypeEthernet {
			return nil, fmt.Errorf("pcapng: frame %d at offset %d: interface %d has link type %d, want Ethernet (%d): %w", i, at, ifID, ifc.linkType, linkTypeEthernet, ErrNotEthernet)
		}
		if err := checkCapLen(caplen, origlen); err != nil {
			return nil, fmt.Errorf("pcapng: frame %d at offset %d: %w", i, at, err)
		}
		if caplen > uint32(len(data)) {
			return nil, fmt.Errorf("pcapng: frame %d at offset %d: captured length %d runs past the block's %d bytes of data", i, at, caplen, len(data))
		}
		if hasTime {
			last = ifc.time(ts)
		}
		frames = append(frames, Frame{Time: last, Data: append([]byte(nil), data[:caplen]...)})
	}
}

// parseInterface reads an interface description block's body: link type, snapshot length
// and the timestamp options.
func parseInterface(order binary.ByteOrder, body []byte) (ngInterface, error) {
	if len(body) < 8 {
		return ngInterface{}, fmt.Errorf("%d bytes is too short for its fixed fields", len(body))
	}
	ifc := ngInterface{
		linkType:    order.Uint16(body),
		snapLen:     order.Uint32(body[4:]),
		unitsPerSec: 1_000_000, // microseconds unless if_tsresol says otherwise
	}
	opts := body[8:]
	for len(opts) >= 4 {
		code, n := order.Uint16(opts), int(order.Uint16(opts[2:]))
		if code == ngOptEnd {
			break
		}
		padded := (n + 3) &^ 3 // values are padded to 4 bytes
		if 4+padded > len(opts) {
			return ngInterface{}, fmt.Errorf("option %d of %d bytes runs past the block", code, n)
		}
		val := opts[4 : 4+n]
		opts = opts[4+padded:]
		switch code {
		case ngOptTSResolution:
			if n != 1 {
				return ngInterface{}, fmt.Errorf("if_tsresol has %d bytes, want 1", n)
			}
			// The top bit picks a negative power of 2, else of 10. 2^63 and 10^19 are the
			// largest that fit the 64-bit timestamp's units.
			exp := val[0] & 0x7f
			switch {
			case val[0]&0x80 != 0 && exp <= 63:
				ifc.unitsPerSec = 1 << exp
			case val[0]&0x80 == 0 && exp <= 19:
				ifc.unitsPerSec = 1
				for range exp {
					ifc.unitsPerSec *= 10
				}
			default:
				return ngInterface{}, fmt.Errorf("if_tsresol %#02x is finer than the 64-bit timestamp can count", val[0])
			}
		case ngOptTSOffset:
			if n != 8 {
				return ngInterface{}, fmt.Errorf("if_tsoffset has %d bytes, want 8", n)
			}
			ifc.offsetSec = int64(order.Uint64(val))
		}
	}
	return ifc, nil
}

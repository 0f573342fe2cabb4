package capture

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"iter"
	"math/bits"
	"runtime"
	"slices"
	"strconv"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// Export goes through gopacket's pcapgo writers: pcapgo v1.1.19's NgWriter
// already writes the interface name (if_name) in the interface description
// block and an interface statistics block with isb_ifrecv and isb_ifdrop.
// Import is our own reader, so that a corrupt file gets an error naming the
// record or block and its byte offset, and never a panic.

// WritePcap writes frames as a classic pcap file with link type Ethernet
// and microsecond, or with nanos nanosecond, timestamps. Frames longer than
// snapLen (if positive) are cut to it.
func WritePcap(w io.Writer, snapLen int, nanos bool, frames iter.Seq[Frame]) error {
	if snapLen <= 0 {
		snapLen = maxCaptureLen
	}
	bw := bufio.NewWriter(w)
	pw := pcapgo.NewWriter(bw)
	if nanos {
		pw = pcapgo.NewWriterNanos(bw)
	}
	if err := pw.WriteFileHeader(uint32(snapLen), layers.LinkTypeEthernet); err != nil {
		return err
	}
	for f := range frames {
		ci, data := captureInfo(f, snapLen)
		if err := pw.WritePacket(ci, data); err != nil {
			return fmt.Errorf("capture: writing frame %d: %w", f.Number, err)
		}
	}
	return bw.Flush()
}

// PcapngInterface describes the capture interface of a pcapng export.
type PcapngInterface struct {
	Name        string // if_name, e.g. the adapter's model
	Description string // if_description
	SnapLen     int
	// Received and Dropped go into the interface statistics block at the
	// end: frames the interface received (isb_ifrecv) and dropped for lack
	// of resources (isb_ifdrop).
	Received, Dropped uint64
}

// WritePcapng writes frames as a pcapng file: a section header, one
// Ethernet interface description block, an enhanced packet block per
// frame (nanosecond timestamps) and an interface statistics block.
func WritePcapng(w io.Writer, ifc PcapngInterface, frames iter.Seq[Frame]) error {
	nw, err := pcapgo.NewNgWriterInterface(w, pcapgo.NgInterface{
		Name:        ifc.Name,
		Description: ifc.Description,
		LinkType:    layers.LinkTypeEthernet,
		SnapLength:  uint32(ifc.SnapLen),
	}, pcapgo.NgWriterOptions{SectionInfo: pcapgo.NgSectionInfo{
		Hardware:    runtime.GOARCH,
		OS:          runtime.GOOS,
		Application: "webminiport",
	}})
	if err != nil {
		return err
	}
	var first, last time.Time
	for f := range frames {
		if first.IsZero() {
			first = f.Time
		}
		last = f.Time
		ci, data := captureInfo(f, ifc.SnapLen)
		if err := nw.WritePacket(ci, data); err != nil {
			return fmt.Errorf("capture: writing frame %d: %w", f.Number, err)
		}
	}
	if err := nw.WriteInterfaceStats(0, pcapgo.NgInterfaceStatistics{
		LastUpdate:      last,
		StartTime:       first,
		EndTime:         last,
		PacketsReceived: ifc.Received,
		PacketsDropped:  ifc.Dropped,
	}); err != nil {
		return err
	}
	return nw.Flush()
}

func captureInfo(f Frame, snapLen int) (gopacket.CaptureInfo, []byte) {
	data := f.Data
	if snapLen > 0 && len(data) > snapLen {
		data = data[:snapLen]
	}
	return gopacket.CaptureInfo{
		Timestamp:     f.Time,
		CaptureLength: len(data),
		Length:        max(f.OrigLen, len(f.Data)),
	}, data
}

// FileFormat is the format of a capture file.
type FileFormat uint8

// Capture file formats the reader detects by their magic number.
const (
	FormatPcap FileFormat = iota + 1
	FormatPcapng
)

// String returns "pcap" or "pcapng".
func (f FileFormat) String() string {
	switch f {
	case FormatPcap:
		return "pcap"
	case FormatPcapng:
		return "pcapng"
	}
	return "FileFormat(" + strconv.Itoa(int(f)) + ")"
}

// FileError is a capture file that cannot be read further. Format is 0
// when the file is not recognised at all. Record counts pcap records or
// pcapng blocks from 1 (0 is the pcap file header); Offset is where that
// record or block starts in the file.
type FileError struct {
	Format FileFormat
	Record int
	Offset int64
	Msg    string
}

// Error names the format, the record or block, its offset and the problem:
// "pcapng block 3 at offset 80: Enhanced Packet Block: ...".
func (e *FileError) Error() string {
	if e.Format == 0 {
		return "capture file: " + e.Msg
	}
	if e.Record == 0 {
		return fmt.Sprintf("%v file header at offset %d: %s", e.Format, e.Offset, e.Msg)
	}
	unit := "record"
	if e.Format == FormatPcapng {
		unit = "block"
	}
	return fmt.Sprintf("%v %s %d at offset %d: %s", e.Format, unit, e.Record, e.Offset, e.Msg)
}

// CaptureInterface is an interface a capture file describes.
type CaptureInterface struct {
	Name     string // if_name (pcapng only)
	LinkType uint16
	SnapLen  uint32
	// Received and Dropped come from the last interface statistics block
	// (pcapng only); -1 when the file does not say.
	Received, Dropped int64

	unitsPerSec uint64 // timestamp resolution (if_tsresol)
	offsetSec   int64  // if_tsoffset
}

// Reader limits: no Ethernet frame is longer than libpcap's largest snap
// length, and no block we read needs more than a frame and its options.
const (
	maxCaptureLen = 262144
	maxBlockLen   = 8 << 20
)

const (
	pcapMagicMicro = 0xa1b2c3d4
	pcapMagicNano  = 0xa1b23c4d
	pcapngSHB      = 0x0a0d0d0a
	pcapngBOM      = 0x1a2b3c4d
	linkEthernet   = 1
)

// FileReader reads frames from a pcap or pcapng file.
type FileReader struct {
	r      io.Reader
	format FileFormat
	order  binary.ByteOrder
	off    int64 // bytes read so far
	record int   // number of the record or block being read
	start  int64 // offset where it starts
	number uint64
	buf    []byte

	nanos  bool               // pcap: nanosecond timestamps
	ifaces []CaptureInterface // every interface of every section
	base   int                // index in ifaces of the current section's interface 0
}

// NewFileReader detects the format from the magic number and reads the
// file header (pcap) or first section header (pcapng).
func NewFileReader(r io.Reader) (*FileReader, error) {
	fr := &FileReader{r: r}
	magic, err := fr.read(4)
	if err != nil {
		if len(magic) == 0 {
			return nil, &FileError{Msg: "empty file"}
		}
		return nil, &FileError{Msg: fmt.Sprintf("truncated: the file ends after %d of 4 magic bytes", len(magic))}
	}
	switch {
	case binary.BigEndian.Uint32(magic) == pcapngSHB:
		fr.format = FormatPcapng
		if err := fr.readSectionHeader(); err != nil {
			return nil, err
		}
		return fr, nil
	case binary.LittleEndian.Uint32(magic) == pcapMagicMicro, binary.LittleEndian.Uint32(magic) == pcapMagicNano:
		fr.order = binary.LittleEndian
	case binary.BigEndian.Uint32(magic) == pcapMagicMicro, binary.BigEndian.Uint32(magic) == pcapMagicNano:
		fr.order = binary.BigEndian
	default:
		return nil, &FileError{Msg: fmt.Sprintf("not a pcap or pcapng file (magic %x)", magic)}
	}
	fr.format = FormatPcap
	fr.nanos = fr.order.Uint32(magic) == pcapMagicNano
	return fr, fr.readPcapHeader()
}

// Format returns the file's format.
func (fr *FileReader) Format() FileFormat { return fr.format }

// Interfaces returns the interfaces described so far (a pcap file has one).
func (fr *FileReader) Interfaces() []CaptureInterface { return slices.Clone(fr.ifaces) }

// read reads n bytes into fr.buf, growing it only as data arrives so that
// a corrupt length in a short file does not allocate it all. On a short
// read it returns what it got with the error.
func (fr *FileReader) read(n int) ([]byte, error) {
	buf := fr.buf[:0]
	for len(buf) < n {
		chunk := min(n-len(buf), 64<<10)
		buf = slices.Grow(buf, chunk)
		m, err := io.ReadFull(fr.r, buf[len(buf):len(buf)+chunk])
		buf = buf[:len(buf)+m]
		fr.off += int64(m)
		if err != nil {
			fr.buf = buf
			if err == io.ErrUnexpectedEOF {
				err = io.EOF
			}
			return buf, err
		}
	}
	fr.buf = buf
	return buf, nil
}

// fail returns a FileError for the record or block being read.
func (fr *FileReader) fail(format string, args ...any) error {
	return &FileError{Format: fr.format, Record: fr.record, Offset: fr.start, Msg: fmt.Sprintf(format, args...)}
}

// readErr turns a short read of what into a truncation error, or passes
// on an I/O error.
func (fr *FileReader) readErr(err error, got, want int, what string) error {
	if err == io.EOF {
		return fr.fail("truncated: the file ends after %d of %d bytes of %s", got, want, what)
	}
	return fr.fail("reading %s: %v", what, err)
}

var linkTypeNames = map[uint32]string{
	0: "BSD loopback", 1: "Ethernet", 101: "raw IP", 105: "IEEE 802.11", 113: "Linux cooked (SLL)",
	127: "IEEE 802.11 radiotap", 228: "IPv4", 229: "IPv6", 276: "Linux cooked v2 (SLL2)",
}

func linkTypeText(lt uint32) string {
	if name, ok := linkTypeNames[lt]; ok {
		return fmt.Sprintf("%d (%s)", lt, name)
	}
	return fmt.Sprint(lt)
}

func (fr *FileReader) readPcapHeader() error {
	h, err := fr.read(20)
	if err != nil {
		return fr.readErr(err, 4+len(h), 24, "the file header")
	}
	major, minor := fr.order.Uint16(h[0:2]), fr.order.Uint16(h[2:4])
	if major != 2 {
		return fr.fail("version %d.%d, want 2.x", major, minor)
	}
	snapLen := fr.order.Uint32(h[12:16])
	// The low 16 bits are the link type; the FCS bits above them
	// (LINKTYPE_ spec) do not change how frames start.
	lt := fr.order.Uint32(h[16:20]) & 0xffff
	if lt != linkEthernet {
		return fr.fail("link type %s is not Ethernet (1); only Ethernet frames can be replayed", linkTypeText(lt))
	}
	fr.ifaces = []CaptureInterface{{LinkType: uint16(lt), SnapLen: snapLen, Received: -1, Dropped: -1}}
	return nil
}

// Next returns the next frame, or io.EOF after the last one. The frame's
// Data is valid until the next call.
func (fr *FileReader) Next() (Frame, error) {
	if fr.format == FormatPcap {
		return fr.nextPcap()
	}
	for {
		f, ok, err := fr.nextBlock()
		if err != nil || ok {
			return f, err
		}
	}
}

func (fr *FileReader) nextPcap() (Frame, error) {
	fr.record++
	fr.start = fr.off
	h, err := fr.read(16)
	if err != nil {
		if len(h) == 0 && err == io.EOF {
			return Frame{}, io.EOF
		}
		return Frame{}, fr.readErr(err, len(h), 16, "the record header")
	}
	sec, frac := fr.order.Uint32(h[0:4]), fr.order.Uint32(h[4:8])
	capLen, origLen := fr.order.Uint32(h[8:12]), fr.order.Uint32(h[12:16])
	if capLen > maxCaptureLen {
		return Frame{}, fr.fail("captured length %d is above the %d-byte limit", capLen, maxCaptureLen)
	}
	nsec := int64(frac) * 1000
	if fr.nanos {
		nsec = int64(frac)
	}
	data, err := fr.read(int(capLen))
	if err != nil {
		return Frame{}, fr.readErr(err, len(data), int(capLen), "captured data")
	}
	fr.number++
	return Frame{
		Number:  fr.number,
		Time:    time.Unix(int64(sec), nsec),
		OrigLen: max(int(origLen), int(capLen)),
		Data:    data,
	}, nil
}

// pcapng block types (draft-ietf-opsawg-pcapng).
const (
	blockIDB = 1
	blockPB  = 2 // obsolete packet block
	blockSPB = 3
	blockISB = 5
	blockEPB = 6
)

var blockNames = map[uint32]string{
	blockIDB: "Interface Description Block", blockPB: "Packet Block", blockSPB: "Simple Packet Block",
	4: "Name Resolution Block", blockISB: "Interface Statistics Block", blockEPB: "Enhanced Packet Block",
	10: "Decryption Secrets Block", pcapngSHB: "Section Header Block",
}

func blockName(t uint32) string {
	if name, ok := blockNames[t]; ok {
		return name
	}
	return fmt.Sprintf("block type 0x%08x", t)
}

// readSectionHeader reads a section header block whose type has just been
// read; the byte-order magic after its length sets the section's order.
func (fr *FileReader) readSectionHeader() error {
	fr.record++
	fr.start = fr.off - 4
	h, err := fr.read(8)
	if err != nil {
		return fr.readErr(err, 4+len(h), 12, "the Section Header Block header")
	}
	switch uint32(pcapngBOM) {
	case binary.LittleEndian.Uint32(h[4:8]):
		fr.order = binary.LittleEndian
	case binary.BigEndian.Uint32(h[4:8]):
		fr.order = binary.BigEndian
	default:
		return fr.fail("Section Header Block: byte-order magic %x is not 1a2b3c4d in either order", h[4:8])
	}
	total := fr.order.Uint32(h[0:4])
	// Type, length, magic, version and section length, and the trailer.
	body, err := fr.readBlockBody(pcapngSHB, total, 12, 28)
	if err != nil {
		return err
	}
	if len(body) < 12 {
		return fr.fail("Section Header Block: length %d is too short for its fields", total)
	}
	if major := fr.order.Uint16(body[0:2]); major != 1 {
		return fr.fail("Section Header Block: version %d.%d, want 1.x", major, fr.order.Uint16(body[2:4]))
	}
	// Interface numbers start over in every section.
	fr.base = len(fr.ifaces)
	return fr.options(pcapngSHB, body[12:], func(uint16, []byte) error { return nil })
}

// readBlockBody checks a block's total length against the block type's
// minimum (at least already+4), reads the rest of the block (having read
// already bytes of it) and returns its body: what lies between the bytes
// read and the trailing length.
func (fr *FileReader) readBlockBody(typ, total uint32, already int, minTotal uint32) ([]byte, error) {
	name := blockName(typ)
	switch {
	case total < minTotal:
		return nil, fr.fail("%s: length %d is below the minimum of %d", name, total, minTotal)
	case total%4 != 0:
		return nil, fr.fail("%s: length %d is not a multiple of 4", name, total)
	case total > maxBlockLen:
		return nil, fr.fail("%s: length %d is above the %d-byte limit", name, total, maxBlockLen)
	}
	rest := int(total) - already
	b, err := fr.read(rest)
	if err != nil {
		return nil, fr.readErr(err, already+len(b), int(total), "the "+name)
	}
	if trailer := fr.order.Uint32(b[rest-4:]); trailer != total {
		return nil, fr.fail("%s: trailing length %d does not match the leading length %d", name, trailer, total)
	}
	return b[:rest-4], nil
}

// options walks the options in b (pcapng section 3.5), calling fn for each
// until the end-of-options option or the end of b.
func (fr *FileReader) options(typ uint32, b []byte, fn func(code uint16, value []byte) error) error {
	for len(b) >= 4 {
		code, n := fr.order.Uint16(b[0:2]), int(fr.order.Uint16(b[2:4]))
		if code == 0 {
			return nil
		}
		padded := (n + 3) &^ 3
		if 4+padded > len(b) {
			return fr.fail("%s: option %d of %d bytes runs past the end of the block", blockName(typ), code, n)
		}
		if err := fn(code, b[4:4+n]); err != nil {
			return err
		}
		b = b[4+padded:]
	}
	return nil
}

// nextBlock reads one block; ok says it was a packet, returned in f.
func (fr *FileReader) nextBlock() (f Frame, ok bool, err error) {
	fr.start = fr.off
	h, err := fr.read(4)
	if err != nil {
		if len(h) == 0 && err == io.EOF {
			return Frame{}, false, io.EOF
		}
		fr.record++
		return Frame{}, false, fr.readErr(err, len(h), 8, "the block header")
	}
	typ := fr.order.Uint32(h)
	if typ == pcapngSHB {
		return Frame{}, false, fr.readSectionHeader()
	}
	fr.record++
	h, err = fr.read(4)
	if err != nil {
		return Frame{}, false, fr.readErr(err, 4+len(h), 8, "the block header")
	}
	body, err := fr.readBlockBody(typ, fr.order.Uint32(h), 8, 12)
	if err != nil {
		return Frame{}, false, err
	}
	switch typ {
	case blockIDB:
		return Frame{}, false, fr.interfaceDescription(body)
	case blockISB:
		return Frame{}, false, fr.interfaceStatistics(body)
	case blockEPB, blockPB, blockSPB:
		f, err := fr.packet(typ, body)
		return f, err == nil, err
	}
	return Frame{}, false, nil // a block replay has no use for
}

func (fr *FileReader) interfaceDescription(body []byte) error {
	if len(body) < 8 {
		return fr.fail("Interface Description Block: body of %d bytes is shorter than 8", len(body))
	}
	ifc := CaptureInterface{
		LinkType:    fr.order.Uint16(body[0:2]),
		SnapLen:     fr.order.Uint32(body[4:8]),
		Received:    -1,
		Dropped:     -1,
		unitsPerSec: 1e6, // the default if_tsresol is 6: microseconds
	}
	err := fr.options(blockIDB, body[8:], func(code uint16, v []byte) error {
		switch code {
		case 2: // if_name
			ifc.Name = string(v)
		case 9: // if_tsresol
			if len(v) != 1 {
				return fr.fail("Interface Description Block: if_tsresol has %d bytes, want 1", len(v))
			}
			exp := uint64(v[0] & 0x7f)
			if v[0]&0x80 != 0 {
				if exp > 63 {
					return fr.fail("Interface Description Block: if_tsresol 2^-%d is finer than 2^-63", exp)
				}
				ifc.unitsPerSec = 1 << exp
			} else {
				if exp > 19 {
					return fr.fail("Interface Description Block: if_tsresol 10^-%d is finer than 10^-19", exp)
				}
				ifc.unitsPerSec = 1
				for range exp {
					ifc.unitsPerSec *= 10
				}
			}
		case 14: // if_tsoffset
			if len(v) != 8 {
				return fr.fail("Interface Description Block: if_tsoffset has %d bytes, want 8", len(v))
			}
			ifc.offsetSec = int64(fr.order.Uint64(v))
		}
		return nil
	})
	if err != nil {
		return err
	}
	fr.ifaces = append(fr.ifaces, ifc)
	return nil
}

// iface returns the interface a block refers to by its section-local id.
func (fr *FileReader) iface(typ uint32, id uint32) (*CaptureInterface, error) {
	if n := len(fr.ifaces) - fr.base; int64(id) >= int64(n) {
		return nil, fr.fail("%s: refers to interface %d, but the section defines %d", blockName(typ), id, n)
	}
	return &fr.ifaces[fr.base+int(id)], nil
}

func (fr *FileReader) interfaceStatistics(body []byte) error {
	if len(body) < 12 {
		return fr.fail("Interface Statistics Block: body of %d bytes is shorter than 12", len(body))
	}
	ifc, err := fr.iface(blockISB, fr.order.Uint32(body[0:4]))
	if err != nil {
		return err
	}
	return fr.options(blockISB, body[12:], func(code uint16, v []byte) error {
		if (code == 4 || code == 5) && len(v) != 8 {
			return fr.fail("Interface Statistics Block: option %d has %d bytes, want 8", code, len(v))
		}
		switch code {
		case 4: // isb_ifrecv
			ifc.Received = int64(fr.order.Uint64(v))
		case 5: // isb_ifdrop
			ifc.Dropped = int64(fr.order.Uint64(v))
		}
		return nil
	})
}

// packet decodes an enhanced, simple or obsolete packet block.
func (fr *FileReader) packet(typ uint32, body []byte) (Frame, error) {
	name := blockName(typ)
	var id, capLen, origLen uint32
	var ts uint64
	var data []byte
	switch typ {
	case blockEPB, blockPB:
		if len(body) < 20 {
			return Frame{}, fr.fail("%s: body of %d bytes is shorter than 20", name, len(body))
		}
		if typ == blockEPB {
			id = fr.order.Uint32(body[0:4])
		} else {
			id = uint32(fr.order.Uint16(body[0:2]))
		}
		ts = uint64(fr.order.Uint32(body[4:8]))<<32 | uint64(fr.order.Uint32(body[8:12]))
		capLen, origLen = fr.order.Uint32(body[12:16]), fr.order.Uint32(body[16:20])
		if int64(capLen) > int64(len(body)-20) {
			return Frame{}, fr.fail("%s: captured length %d runs past the block (%d bytes left)", name, capLen, len(body)-20)
		}
		data = body[20 : 20+capLen]
	case blockSPB:
		if len(body) < 4 {
			return Frame{}, fr.fail("%s: body of %d bytes is shorter than 4", name, len(body))
		}
		origLen = fr.order.Uint32(body[0:4])
		// The captured length is implied: the original length, cut by
		// the snap length and by the block (section 4.4).
		capLen = min(origLen, uint32(len(body)-4))
		if ifc, err := fr.iface(typ, 0); err == nil && ifc.SnapLen != 0 {
			capLen = min(capLen, ifc.SnapLen)
		}
		data = body[4 : 4+capLen]
	}
	ifc, err := fr.iface(typ, id)
	if err != nil {
		return Frame{}, err
	}
	if ifc.LinkType != linkEthernet {
		return Frame{}, fr.fail("%s: interface %d has link type %s, not Ethernet (1); only Ethernet frames can be replayed",
			name, id, linkTypeText(uint32(ifc.LinkType)))
	}
	if capLen > maxCaptureLen {
		return Frame{}, fr.fail("%s: captured length %d is above the %d-byte limit", name, capLen, maxCaptureLen)
	}
	t := time.Unix(0, 0) // a simple packet block has no timestamp
	if typ != blockSPB {
		t = ifc.time(ts)
	}
	fr.number++
	return Frame{Number: fr.number, Time: t, OrigLen: max(int(origLen), int(capLen)), Data: data}, nil
}

// time converts a timestamp in the interface's units to a time.
func (ifc *CaptureInterface) time(ts uint64) time.Time {
	sec, frac := ts/ifc.unitsPerSec, ts%ifc.unitsPerSec
	// frac*1e9 can pass 64 bits at fine resolutions; its 128-bit
	// quotient by unitsPerSec is below 1e9, so Div64 cannot overflow.
	hi, lo := bits.Mul64(frac, 1e9)
	nsec, _ := bits.Div64(hi, lo, ifc.unitsPerSec)
	return time.Unix(int64(sec)+ifc.offsetSec, int64(nsec))
}

// ReadFrames reads every frame of a pcap or pcapng file, with its own
// copy of the bytes. On an error it returns the frames read before it.
func ReadFrames(r io.Reader) ([]Frame, error) {
	fr, err := NewFileReader(r)
	if err != nil {
		return nil, err
	}
	var frames []Frame
	for {
		f, err := fr.Next()
		if errors.Is(err, io.EOF) {
			return frames, nil
		}
		if err != nil {
			return frames, err
		}
		f.Data = slices.Clone(f.Data)
		frames = append(frames, f)
	}
}

package sim

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"time"

	"webminiport/usbnic"
)

// NCM class requests (§4.1).
const (
	ncmGetNTBParameters = 0x80
	ncmGetNTBFormat     = 0x83
	ncmSetNTBFormat     = 0x84
	ncmGetNTBInputSize  = 0x85
	ncmSetNTBInputSize  = 0x86
	ncmGetCRCMode       = 0x89
	ncmSetCRCMode       = 0x8A
)

// f_ncm's fixed parameters.
const (
	ncmInMaxSize   = 16384 // NTB_DEFAULT_IN_SIZE, dwNtbInMaxSize
	ncmOutMaxSize  = 16384 // NTB_OUT_SIZE, dwNtbOutMaxSize
	ncmInMinSize   = 2048  // USB_CDC_NCM_NTB_MIN_IN_SIZE: smallest SET_NTB_INPUT_SIZE accepted
	ncmMaxDPE      = 32    // TX_MAX_NUM_DPE, counting the terminating entry: 31 datagrams per NTB
	ncmDivisor     = 4     // wNdpInDivisor
	ncmRemainder   = 0     // wNdpInPayloadRemainder
	ncmNDPAlign    = 4     // wNdpInAlignment
	ncmFlushDelay  = 300 * time.Microsecond
	ncmCaps        = 0x11 // bmNetworkCapabilities: SetEthernetPacketFilter, SetCrcMode
	ncmCRCBit      = 0x01000000
	ncmMaxNDPs     = 32 // NDPs followed per NTB before the model calls it a loop
	ncmMaxNTBs     = 64 // NTBs parsed per OUT transfer
	ncmMaxDgrams   = 2048
	ncmDataProtoNT = 0x01 // CDC data interface protocol: NTB
)

// ncmParameters is f_ncm's GET_NTB_PARAMETERS answer, the 28 bytes of the capture.
var ncmParameters = []byte{
	0x1c, 0x00, // wLength 28
	0x03, 0x00, // bmNtbFormatsSupported: NTB16 and NTB32
	0x00, 0x40, 0x00, 0x00, // dwNtbInMaxSize 16384
	0x04, 0x00, // wNdpInDivisor
	0x00, 0x00, // wNdpInPayloadRemainder
	0x04, 0x00, // wNdpInAlignment
	0x00, 0x00, // wPadding1
	0x00, 0x40, 0x00, 0x00, // dwNtbOutMaxSize 16384
	0x04, 0x00, // wNdpOutDivisor
	0x00, 0x00, // wNdpOutPayloadRemainder
	0x04, 0x00, // wNdpOutAlignment
	0x00, 0x00, // wNtbOutMaxDatagrams: no limit
}

// ntbFormat is the geometry of NTB16 or NTB32 (§4.2): f_ncm's ndp_parser_opts.
type ntbFormat struct {
	nthSig   uint32
	nthSize  int
	ndpSig   uint32 // without the CRC bit
	ndpSize  int
	dpeSize  int
	ndpAlign int // wLength must be a multiple of this
	field    int // bytes of a length or index field
	nextOff  int // offset of (d)wNextNdpIndex in the NDP
}

var (
	ntb16 = ntbFormat{nthSig: 0x484D434E, nthSize: 12, ndpSig: 0x304D434E, ndpSize: 8, dpeSize: 4, ndpAlign: 4, field: 2, nextOff: 6}
	ntb32 = ntbFormat{nthSig: 0x686D636E, nthSize: 16, ndpSig: 0x306D636E, ndpSize: 16, dpeSize: 8, ndpAlign: 8, field: 4, nextOff: 8}
)

func (f *ntbFormat) get(b []byte) int {
	if f.field == 2 {
		return int(binary.LittleEndian.Uint16(b))
	}
	return int(binary.LittleEndian.Uint32(b))
}

func (f *ntbFormat) put(b []byte, v int) {
	if f.field == 2 {
		binary.LittleEndian.PutUint16(b, uint16(v))
	} else {
		binary.LittleEndian.PutUint32(b, uint32(v))
	}
}

// ncm models Linux's f_ncm gadget function: f_ncm's control requests, IN NTBs built as
// ncm_wrap_ntb builds them (NTH, datagrams from the end of the NTH, 4-aligned, then one NDP,
// wSequence 0, at most 31 datagrams, no larger than the NTB input size, sent when full or 300 µs
// after the last datagram), OUT NTBs parsed like ncm_unwrap_ntb with every index and length
// checked against the transfer, and SPEED_CHANGE then NETWORK_CONNECTION notifications.
type ncm struct {
	p       *port
	l       cdcLayout
	dataAlt uint8
	filter  uint16
	fmt     *ntbFormat
	crc     bool
	inSize  int
	note    notifier

	// The NTB being built: NTH room, then datagrams; the NDP is written at flush.
	ntb      []byte
	ntbLen   int
	dpe      []int // index, length pairs
	ntbBytes uint64
	ntbMulti uint64
	lastAdd  time.Time
	full     bool
	staged   int

	frames []int // OUT datagrams found by the parse: offset, length pairs
}

func newNCM(p *port, l cdcLayout) *ncm {
	return &ncm{
		p: p, l: l,
		note:   notifier{p: p, ctrl: l.ctrl, speedFirst: true},
		ntb:    make([]byte, 64<<10),
		dpe:    make([]int, 0, 2*ncmMaxDPE),
		frames: make([]int, 0, 2*ncmMaxDgrams),
	}
}

func (m *ncm) open() bool { return m.p.cable && m.dataAlt == 1 }

// resetValues is ncm_reset_values: NTB16, no CRC, default filter, full input size.
func (m *ncm) resetValues() {
	m.fmt, m.crc, m.filter, m.inSize = &ntb16, false, cdcDefaultFilter, ncmInMaxSize
}

// dropNTB discards the NTB being built (the data path went down under it).
func (m *ncm) dropNTB() {
	m.p.st.RxDropped += uint64(len(m.dpe) / 2)
	if m.staged > 0 {
		m.p.st.RxDropped++
	}
	m.ntbLen, m.dpe, m.ntbBytes, m.ntbMulti, m.full, m.staged = 0, m.dpe[:0], 0, 0, false, 0
}

func (m *ncm) powerOn(now time.Time) {
	m.dataAlt = 0
	m.resetValues()
	m.dropNTB()
	m.note.reset()
}

func (m *ncm) configured(now time.Time) {
	m.powerOn(now)
	m.note.notify(m.open())
}

func (m *ncm) setAlt(iface, alt uint8, now time.Time) bool {
	switch iface {
	case m.l.ctrl:
		return alt == 0
	case m.l.data:
		if alt > 1 {
			return false
		}
		if m.dataAlt == 1 {
			// Leaving (or re-entering) the active setting resets the function.
			m.dropNTB()
			m.resetValues()
		}
		m.dataAlt = alt
		if alt == 1 {
			m.filter = cdcDefaultFilter
		}
		m.note.notify(m.open())
		return true
	}
	return false
}

func (m *ncm) cableChanged(now time.Time) {
	if m.p.cable {
		m.p.drain()
	}
	if m.dataAlt == 1 {
		m.note.notify(m.open())
	}
}

func (m *ncm) ctrlRequest(s usbnic.Setup) bool {
	return s.Type == usbnic.Class && s.Recipient == usbnic.ToInterface && s.Index == uint16(m.l.ctrl)
}

func (m *ncm) controlIn(s usbnic.Setup, buf []byte, now time.Time) (int, bool) {
	if !m.ctrlRequest(s) || s.Value != 0 {
		return 0, false
	}
	switch s.Request {
	case ncmGetNTBParameters:
		if len(buf) == 0 {
			return 0, false
		}
		return copy(buf, ncmParameters), true
	case ncmGetNTBInputSize:
		if len(buf) < 4 {
			return 0, false
		}
		binary.LittleEndian.PutUint32(buf, uint32(m.inSize))
		return 4, true
	case ncmGetNTBFormat:
		if len(buf) < 2 {
			return 0, false
		}
		v := uint16(0)
		if m.fmt == &ntb32 {
			v = 1
		}
		binary.LittleEndian.PutUint16(buf, v)
		return 2, true
	case ncmGetCRCMode:
		if len(buf) < 2 {
			return 0, false
		}
		v := uint16(0)
		if m.crc {
			v = 1
		}
		binary.LittleEndian.PutUint16(buf, v)
		return 2, true
	}
	return 0, false
}

func (m *ncm) controlOut(s usbnic.Setup, data []byte, now time.Time) bool {
	if !m.ctrlRequest(s) {
		return false
	}
	switch s.Request {
	case cdcSetEthernetPacketFilter:
		if len(data) != 0 {
			return false
		}
		m.filter = s.Value
		return true
	case ncmSetNTBInputSize:
		if len(data) != 4 || s.Value != 0 {
			return false
		}
		size := int(binary.LittleEndian.Uint32(data))
		if size < ncmInMinSize || size > ncmInMaxSize {
			return false
		}
		m.inSize = size
		return true
	case ncmSetNTBFormat:
		if len(data) != 0 {
			return false
		}
		switch s.Value {
		case 0:
			m.fmt = &ntb16
		case 1:
			m.fmt = &ntb32
		default:
			return false
		}
		m.dropNTB() // the NTB under construction has the other format's header room
		return true
	case ncmSetCRCMode:
		if len(data) != 0 || s.Value > 1 {
			return false
		}
		m.crc = s.Value == 1
		m.dropNTB()
		return true
	}
	return false
}

func (m *ncm) ndpSig() uint32 {
	if m.crc {
		return m.fmt.ndpSig | ncmCRCBit
	}
	return m.fmt.ndpSig
}

func (m *ncm) in(ep uint8, buf []byte, now time.Time, r *inResult) {
	switch ep {
	case m.l.notify:
		m.note.in(buf, m.open(), r)
	case m.l.in:
		if !m.p.cable {
			return
		}
		r.wantWire = true
		m.fill(now)
		if len(m.dpe) == 0 {
			return
		}
		if due := m.lastAdd.Add(ncmFlushDelay); !m.full && now.Before(due) {
			r.wakeAt = due
			return
		}
		m.flush(buf, r)
	}
}

// fill wraps frames from the wire into the NTB until it is full or the wire is empty. The fit
// test is f_ncm's, which assumes the worst padding: NTB so far + divisor + remainder + datagram
// + NDP so far + NDP alignment + two more entries (this one and the terminator).
func (m *ncm) fill(now time.Time) {
	f := m.fmt
	for !m.full {
		n := m.staged
		m.staged = 0
		if n == 0 {
			if n = m.p.pull(); n == 0 {
				return
			}
			fr := m.p.stage[:n]
			if n < etherHeader || n > etherMaxFrame {
				m.p.st.RxDropped++
				continue
			}
			if !cdcAccept(m.filter, fr) {
				m.p.st.RxFiltered++
				continue
			}
		}
		dlen := n
		if m.crc {
			dlen += 4
		}
		k := len(m.dpe) / 2
		if k > 0 && (k+1 >= ncmMaxDPE || m.ntbLen+ncmDivisor+ncmRemainder+dlen+f.ndpSize+k*f.dpeSize+ncmNDPAlign+2*f.dpeSize > m.inSize) {
			m.staged, m.full = n, true
			return
		}
		if k == 0 {
			m.ntbLen = f.nthSize
		}
		idx := (m.ntbLen+ncmDivisor-1)/ncmDivisor*ncmDivisor + ncmRemainder
		clear(m.ntb[m.ntbLen:idx])
		fr := m.p.stage[:n]
		copy(m.ntb[idx:], fr)
		if m.crc {
			binary.LittleEndian.PutUint32(m.ntb[idx+n:], crc32.ChecksumIEEE(fr))
		}
		m.ntbLen = idx + dlen
		m.dpe = append(m.dpe, idx, dlen)
		m.lastAdd = now
		m.ntbBytes += uint64(n)
		if isMulticast(fr) {
			m.ntbMulti++
		}
	}
}

// flush appends the NDP (4-aligned, after the datagrams, ending with a zero entry), fills in the
// NTH and hands the NTB to the host (package_for_tx).
func (m *ncm) flush(buf []byte, r *inResult) {
	f := m.fmt
	k := len(m.dpe) / 2
	ndpIndex := (m.ntbLen + ncmNDPAlign - 1) / ncmNDPAlign * ncmNDPAlign
	ndpLen := f.ndpSize + (k+1)*f.dpeSize
	total := ndpIndex + ndpLen
	b := m.ntb[:total]
	clear(b[m.ntbLen:])

	binary.LittleEndian.PutUint32(b, f.nthSig)
	binary.LittleEndian.PutUint16(b[4:], uint16(f.nthSize))
	binary.LittleEndian.PutUint16(b[6:], 0) // wSequence: f_ncm never sets it
	f.put(b[8:], total)
	f.put(b[8+f.field:], ndpIndex)
	r.framing(0, f.nthSize)

	ndp := b[ndpIndex:]
	binary.LittleEndian.PutUint32(ndp, m.ndpSig())
	binary.LittleEndian.PutUint16(ndp[4:], uint16(ndpLen))
	r.framing(ndpIndex, f.ndpSize)
	for i := 0; i < k; i++ {
		e := ndp[f.ndpSize+i*f.dpeSize:]
		f.put(e, m.dpe[2*i])
		f.put(e[f.field:], m.dpe[2*i+1])
		r.framing(ndpIndex+f.ndpSize+i*f.dpeSize, f.dpeSize)
	}
	r.deliver(buf, b)
	if r.status == usbnic.StatusOK {
		m.p.st.RxFrames += uint64(k)
		m.p.st.RxBytes += m.ntbBytes
		m.p.st.RxMulticast += m.ntbMulti
	} else {
		m.p.st.RxDropped += uint64(k)
	}
	staged := m.staged
	m.ntbLen, m.dpe, m.ntbBytes, m.ntbMulti, m.full, m.staged = 0, m.dpe[:0], 0, 0, false, staged
}

// out takes one bulk-OUT transfer of NTBs. As in f_ncm, any error drops every datagram of the
// transfer; datagrams reach the wire only once the whole transfer has parsed.
func (m *ncm) out(ep uint8, data []byte, now time.Time) {
	if ep != m.l.out {
		return
	}
	m.frames = m.frames[:0]
	if err := m.unwrap(data); err != "" {
		m.p.st.TxErrors++
		m.p.st.LastTxError = err
		return
	}
	for i := 0; i < len(m.frames); i += 2 {
		m.p.transmit(data[m.frames[i]:m.frames[i]+m.frames[i+1]], m.p.cable)
	}
}

// unwrap checks every NTB in data and records its datagrams in m.frames. It returns what was
// wrong and where, or "".
func (m *ncm) unwrap(data []byte) string {
	f := m.fmt
	crcLen := 0
	if m.crc {
		crcLen = 4
	}
	for base, ntbs := 0, 0; ; ntbs++ {
		rest := data[base:]
		if ntbs == ncmMaxNTBs {
			return fmt.Sprintf("CDC-NCM TX: more than %d NTBs in one transfer", ncmMaxNTBs)
		}
		if len(rest) < f.nthSize {
			return fmt.Sprintf("CDC-NCM TX: NTB at offset %d: %d bytes, shorter than the %d-byte NTH", base, len(rest), f.nthSize)
		}
		if sig := binary.LittleEndian.Uint32(rest); sig != f.nthSig {
			return fmt.Sprintf("CDC-NCM TX: NTB at offset %d: NTH signature %#08x, want %#08x", base, sig, f.nthSig)
		}
		if h := int(binary.LittleEndian.Uint16(rest[4:])); h != f.nthSize {
			return fmt.Sprintf("CDC-NCM TX: NTB at offset %d: wHeaderLength %d, want %d", base, h, f.nthSize)
		}
		block := f.get(rest[8:])
		ndpIndex := f.get(rest[8+f.field:])
		switch {
		case block > ncmOutMaxSize:
			return fmt.Sprintf("CDC-NCM TX: NTB at offset %d: block length %d exceeds dwNtbOutMaxSize %d", base, block, ncmOutMaxSize)
		case block > len(rest):
			return fmt.Sprintf("CDC-NCM TX: NTB at offset %d: block length %d exceeds the %d bytes left in the transfer", base, block, len(rest))
		case block < f.nthSize:
			return fmt.Sprintf("CDC-NCM TX: NTB at offset %d: block length %d is shorter than the NTH", base, block)
		}
		if err := m.unwrapNDPs(rest[:block], base, ndpIndex, crcLen); err != "" {
			return err
		}
		left := len(rest) - block
		if left == 0 || left == 1 && rest[block] == 0 {
			// One zero byte after the NTB is a host's pad against a ZLP.
			return ""
		}
		base += block
	}
}

func (m *ncm) unwrapNDPs(ntb []byte, base, ndpIndex, crcLen int) string {
	f := m.fmt
	block := len(ntb)
	for ndps := 0; ndpIndex != 0; ndps++ {
		if ndps == ncmMaxNDPs {
			return fmt.Sprintf("CDC-NCM TX: NTB at offset %d: more than %d NDPs (a loop?)", base, ncmMaxNDPs)
		}
		if ndpIndex%4 != 0 || ndpIndex < f.nthSize || ndpIndex > block-f.ndpSize {
			return fmt.Sprintf("CDC-NCM TX: NTB at offset %d: NDP index %d outside [%d, %d] or not 4-aligned", base, ndpIndex, f.nthSize, block-f.ndpSize)
		}
		ndp := ntb[ndpIndex:]
		if sig := binary.LittleEndian.Uint32(ndp); sig != m.ndpSig() {
			return fmt.Sprintf("CDC-NCM TX: NDP at offset %d: signature %#08x, want %#08x", base+ndpIndex, sig, m.ndpSig())
		}
		ndpLen := int(binary.LittleEndian.Uint16(ndp[4:]))
		if ndpLen < f.ndpSize+2*f.dpeSize || ndpLen%f.ndpAlign != 0 || ndpIndex+ndpLen > block {
			return fmt.Sprintf("CDC-NCM TX: NDP at offset %d: wLength %d (minimum %d, multiple of %d, within the %d-byte block)", base+ndpIndex, ndpLen, f.ndpSize+2*f.dpeSize, f.ndpAlign, block)
		}
		next := f.get(ndp[f.nextOff:])
		// f_ncm's walk: take an entry, look at the next; stop at a zero entry, or when no room is
		// left for another entry and the terminator.
		left := ndpLen - f.ndpSize
		pos := f.ndpSize
		idx, dlen := f.get(ndp[pos:]), f.get(ndp[pos+f.field:])
		for {
			at := base + ndpIndex + pos
			switch {
			case dlen < etherHeader+crcLen || dlen-crcLen > etherMaxFrame:
				return fmt.Sprintf("CDC-NCM TX: datagram entry at offset %d: length %d outside [%d, %d]", at, dlen, etherHeader+crcLen, etherMaxFrame+crcLen)
			case idx < f.nthSize || idx > block || dlen > block-idx:
				return fmt.Sprintf("CDC-NCM TX: datagram entry at offset %d: [%d, %d) outside the NTB's [%d, %d)", at, idx, idx+dlen, f.nthSize, block)
			}
			if crcLen > 0 {
				want := binary.LittleEndian.Uint32(ntb[idx+dlen-4:])
				if got := crc32.ChecksumIEEE(ntb[idx : idx+dlen-4]); got != want {
					return fmt.Sprintf("CDC-NCM TX: datagram at offset %d: CRC %#08x, computed %#08x", base+idx, want, got)
				}
			}
			if len(m.frames) == cap(m.frames) {
				return fmt.Sprintf("CDC-NCM TX: more than %d datagrams in one transfer", ncmMaxDgrams)
			}
			m.frames = append(m.frames, base+idx, dlen-crcLen)
			pos += f.dpeSize
			left -= f.dpeSize
			idx, dlen = f.get(ndp[pos:]), f.get(ndp[pos+f.field:])
			if idx == 0 || dlen == 0 || left <= f.dpeSize {
				break
			}
		}
		ndpIndex = next
	}
	return ""
}

// ncmConfig is an f_ncm configuration.
func ncmConfig(value uint8, l cdcLayout, attributes, power2, power3 uint8, p *port) *configSpec {
	return cdcConfig(value, attributes, power2, power3, l, 0x0D, ncmDataProtoNT, cdcFunctional(l, ncmCaps), newNCM(p, l))
}

// buildNCM is Linux's f_ncm gadget as captured in ncm-linux.pcap.
func buildNCM(p *port, s *settings) *deviceSpec {
	p.mac = macOr(s, [6]byte{0x02, 0, 0, 0, 0, 0x02})
	c := ncmConfig(1, gadgetLayout, 0x80, 0x32, 13, p)
	return gadgetSpec(p, "CDC NCM gadget", "CDC Network Control Model (NCM)", "CDC Network Data", "CDC NCM", c)
}

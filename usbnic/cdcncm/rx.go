package cdcncm

import (
	"fmt"

	"webminiport/usbnic"
)

// RxFixup splits one NTB into Ethernet frames with every check of cdc_ncm_rx_fixup,
// cdc_ncm_rx_verify_nth16/32 and cdc_ncm_rx_verify_ndp16/32 (specs/usbnic.md §4.5):
//
//   - the NTH and the NDPs must lie inside the transfer, carry the right signatures and a
//     plausible wLength; wBlockLength must not exceed the negotiated NTB input size (it is
//     not compared with the transfer length, and wHeaderLength and wSequence are not checked,
//     as in Linux);
//   - every datagram must lie inside the transfer, be at least an Ethernet header long and no
//     longer than the NTB input size.
//
// A bad NTH or NDP header ends the NTB with an error (frames of earlier NDPs stay delivered).
// An NDP with the wrong signature is skipped, and a bad datagram ends its NDP; as in Linux the
// chain of NDPs is still followed (at most 50 links), and the first such problem is returned
// once the NTB is done.
func (m *ncm) RxFixup(d *usbnic.Device, b []byte, sink usbnic.FrameSink) error {
	f := m.f
	n := uint64(len(b))
	if len(b) < f.nthLen+f.ndpHdrLen {
		return fmt.Errorf("cdc_ncm: rx: %d-byte transfer is shorter than NTH and %s headers (%d bytes)", len(b), f.ndp, f.nthLen+f.ndpHdrLen)
	}
	if sig := le.Uint32(b); sig != f.nthSig {
		return fmt.Errorf("cdc_ncm: rx: NTH signature %#08x, want %#08x (%s, %s)", sig, f.nthSig, f.nthTag, f.name)
	}
	if bl := f.field(b[nthBlockLenOff:]); bl > uint64(m.rxMax) {
		return fmt.Errorf("cdc_ncm: rx: block length %d exceeds the %d-byte NTB input size", bl, m.rxMax)
	}
	ndpOff := f.field(b[f.ndpIndexOff():])
	hdr, dpe := uint64(f.ndpHdrLen), uint64(f.dpeLen)
	var firstErr error
	for chain := 0; ; chain++ {
		if ndpOff+hdr > n {
			return fmt.Errorf("cdc_ncm: rx: %s at offset %d runs past the end of the %d-byte NTB", f.ndp, ndpOff, n)
		}
		ndp := b[ndpOff:]
		wLength := uint64(le.Uint16(ndp[4:]))
		if wLength < uint64(f.ndpMinLen) {
			return fmt.Errorf("cdc_ncm: rx: %s at offset %d: wLength %d, want at least %d", f.ndp, ndpOff, wLength, f.ndpMinLen)
		}
		count := (wLength-hdr)/dpe - 1 // the last entry is the terminator and is not read
		if ndpOff+hdr+count*dpe > n {
			return fmt.Errorf("cdc_ncm: rx: %s at offset %d: wLength %d (%d datagram entries) runs past the end of the %d-byte NTB", f.ndp, ndpOff, wLength, count, n)
		}
		var err error
		if sig := le.Uint32(ndp); sig != f.ndpSig {
			err = fmt.Errorf("cdc_ncm: rx: %s at offset %d: signature %#08x, want %#08x (%s, no CRC); skipped", f.ndp, ndpOff, sig, f.ndpSig, f.ndpTag)
		} else {
			err = m.datagrams(b, ndpOff, count, sink)
		}
		if firstErr == nil {
			firstErr = err
		}
		next := f.field(ndp[f.nextNDPOff():])
		if next == 0 {
			return firstErr
		}
		if chain == maxNDPChain {
			if firstErr == nil {
				firstErr = fmt.Errorf("cdc_ncm: rx: more than %d chained NDPs; the rest ignored", maxNDPChain+1)
			}
			return firstErr
		}
		ndpOff = next
	}
}

// datagrams delivers the datagrams of the NDP at ndpOff, which has count entries before its
// terminator, all inside b. A zero entry ends the table ("all entries after first NULL entry
// are to be ignored"); a bad entry ends it with an error.
func (m *ncm) datagrams(b []byte, ndpOff, count uint64, sink usbnic.FrameSink) error {
	f := m.f
	n := uint64(len(b))
	entries := b[ndpOff+uint64(f.ndpHdrLen):]
	half := f.dpeLen / 2
	for x := uint64(0); x < count; x++ {
		e := entries[x*uint64(f.dpeLen):]
		index, length := f.field(e), f.field(e[half:])
		if index == 0 || length == 0 {
			if x == 0 {
				return fmt.Errorf("cdc_ncm: rx: %s at offset %d has no datagrams", f.ndp, ndpOff)
			}
			return nil
		}
		// Each check compares against what is left, never a sum that could wrap.
		switch {
		case index > n:
			return fmt.Errorf("cdc_ncm: rx: %s at offset %d, datagram %d: index %d is beyond the %d-byte NTB", f.ndp, ndpOff, x, index, n)
		case length > n-index:
			return fmt.Errorf("cdc_ncm: rx: %s at offset %d, datagram %d: length %d at index %d runs past the end of the %d-byte NTB", f.ndp, ndpOff, x, length, index, n)
		case length > uint64(m.rxMax):
			return fmt.Errorf("cdc_ncm: rx: %s at offset %d, datagram %d: length %d exceeds the %d-byte NTB input size", f.ndp, ndpOff, x, length, m.rxMax)
		case length < ethHeaderLen:
			return fmt.Errorf("cdc_ncm: rx: %s at offset %d, datagram %d: length %d is shorter than an Ethernet header (%d)", f.ndp, ndpOff, x, length, ethHeaderLen)
		}
		sink.Frame(b[index : index+length])
	}
	return nil
}

// Package usbmon reads the Linux usbmon captures of data/usb (pcap, link type 220,
// LINKTYPE_USB_LINUX_MMAPPED) into records, for the tests that replay real USB traffic through
// the minidrivers. The record layout is the one data/usb/README.md describes.
package usbmon

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// Transfer types as usbmon numbers them (not the USB descriptor encoding).
const (
	XferIso       = 0
	XferInterrupt = 1
	XferControl   = 2
	XferBulk      = 3
)

// headerLen is the size of the usbmon header in front of each record's data.
const headerLen = 64

// Record is one usbmon event: a URB submission ('S') or completion ('C').
type Record struct {
	ID       uint64
	Type     byte // 'S' or 'C'
	XferType uint8
	EP       uint8 // with the IN bit 0x80
	DevNum   uint8
	Status   int32
	Length   uint32 // requested (submit) or actual (completion) length
	Setup    [8]byte
	HasSetup bool
	Data     []byte
}

// Read parses a whole capture.
func Read(capture []byte) ([]Record, error) {
	r, err := pcapgo.NewReader(bytes.NewReader(capture))
	if err != nil {
		return nil, err
	}
	if r.LinkType() != layers.LinkTypeLinuxUSB {
		return nil, fmt.Errorf("usbmon: link type %v, want %v", r.LinkType(), layers.LinkTypeLinuxUSB)
	}
	var recs []Record
	for {
		data, _, err := r.ReadPacketData()
		if err == io.EOF {
			return recs, nil
		}
		if err != nil {
			return nil, err
		}
		if len(data) < headerLen {
			return nil, fmt.Errorf("usbmon: record %d is %d bytes, shorter than the header", len(recs)+1, len(data))
		}
		le := binary.LittleEndian
		rec := Record{
			ID:       le.Uint64(data[0:]),
			Type:     data[8],
			XferType: data[9],
			EP:       data[10],
			DevNum:   data[11],
			Status:   int32(le.Uint32(data[28:])),
			Length:   le.Uint32(data[32:]),
			HasSetup: data[14] == 0,
		}
		copy(rec.Setup[:], data[40:48])
		capLen := int(le.Uint32(data[36:]))
		if headerLen+capLen > len(data) {
			return nil, fmt.Errorf("usbmon: record %d says %d data bytes, has %d", len(recs)+1, capLen, len(data)-headerLen)
		}
		rec.Data = data[headerLen : headerLen+capLen]
		recs = append(recs, rec)
	}
}

// BulkOut returns the data of the bulk OUT submissions to device dev on endpoint ep, in order.
func BulkOut(recs []Record, dev, ep uint8) [][]byte {
	var out [][]byte
	for _, r := range recs {
		if r.XferType == XferBulk && r.EP == ep && r.Type == 'S' && r.DevNum == dev {
			out = append(out, r.Data)
		}
	}
	return out
}

// CompletedIn returns the data of the successful IN completions with data on endpoint ep of
// device dev and transfer type xfer, in order (unlinked URBs, which carry none, are left out).
func CompletedIn(recs []Record, dev, ep, xfer uint8) [][]byte {
	var in [][]byte
	for _, r := range recs {
		if r.XferType == xfer && r.EP == ep && r.Type == 'C' && r.DevNum == dev && r.Status == 0 && len(r.Data) > 0 {
			in = append(in, r.Data)
		}
	}
	return in
}

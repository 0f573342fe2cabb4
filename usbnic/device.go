package usbnic

import (
	"context"
	"fmt"
)

// RequestError is a control request the device refused (stall, babble) or that could not be
// done at all (Err from the transport). It names the request, so a bring-up failure reads
// "GET_NTB_PARAMETERS ... stalled" rather than a bare status.
type RequestError struct {
	In     bool
	Setup  Setup
	Length int    // wLength
	Status Status // the device's answer when Err is nil
	Err    error
}

func (e *RequestError) Error() string {
	what := "stalled"
	switch {
	case e.Err != nil:
		what = e.Err.Error()
	case e.Status != StatusStall:
		what = e.Status.String()
	}
	dir := "OUT"
	if e.In {
		dir = "IN"
	}
	return fmt.Sprintf("usb: control %s %s (bmRequestType %#02x bRequest %#02x wValue %#04x wIndex %#04x wLength %d): %s",
		dir, RequestName(e.Setup), e.Setup.RequestTypeByte(e.In), e.Setup.Request, e.Setup.Value, e.Setup.Index, e.Length, what)
}

func (e *RequestError) Unwrap() error { return e.Err }

// RequestName names a control request for messages: standard and CDC class requests by
// their specification names, vendor requests by number (their meaning is the chip's).
func RequestName(s Setup) string {
	switch s.Type {
	case Standard:
		switch s.Request {
		case 0x00:
			return "GET_STATUS"
		case 0x01:
			return "CLEAR_FEATURE"
		case 0x03:
			return "SET_FEATURE"
		case 0x05:
			return "SET_ADDRESS"
		case ReqGetDescriptor:
			return fmt.Sprintf("GET_DESCRIPTOR %s %d", DescriptorName(uint8(s.Value>>8), 0), uint8(s.Value))
		case 0x08:
			return "GET_CONFIGURATION"
		case 0x09:
			return "SET_CONFIGURATION"
		case 0x0A:
			return "GET_INTERFACE"
		case ReqSetInterface:
			return "SET_INTERFACE"
		}
	case Class:
		if name, ok := cdcRequestNames[s.Request]; ok {
			return name
		}
		return fmt.Sprintf("class request %#02x", s.Request)
	case Vendor:
		return fmt.Sprintf("vendor request %#02x", s.Request)
	}
	return fmt.Sprintf("request %#02x", s.Request)
}

var cdcRequestNames = map[uint8]string{
	CDCSetEthernetMulticastFilters: "SET_ETHERNET_MULTICAST_FILTERS",
	CDCSetEthernetPMPatternFilter:  "SET_ETHERNET_PM_PATTERN_FILTER",
	CDCGetEthernetPMPatternFilter:  "GET_ETHERNET_PM_PATTERN_FILTER",
	CDCSetEthernetPacketFilter:     "SET_ETHERNET_PACKET_FILTER",
	CDCGetEthernetStatistic:        "GET_ETHERNET_STATISTIC",
	NCMGetNTBParameters:            "GET_NTB_PARAMETERS",
	NCMGetNetAddress:               "GET_NET_ADDRESS",
	NCMSetNetAddress:               "SET_NET_ADDRESS",
	NCMGetNTBFormat:                "GET_NTB_FORMAT",
	NCMSetNTBFormat:                "SET_NTB_FORMAT",
	NCMGetNTBInputSize:             "GET_NTB_INPUT_SIZE",
	NCMSetNTBInputSize:             "SET_NTB_INPUT_SIZE",
	NCMGetMaxDatagramSize:          "GET_MAX_DATAGRAM_SIZE",
	NCMSetMaxDatagramSize:          "SET_MAX_DATAGRAM_SIZE",
	NCMGetCRCMode:                  "GET_CRC_MODE",
	NCMSetCRCMode:                  "SET_CRC_MODE",
}

// ReadCmd is usbnet_read_cmd: a control transfer with an IN data stage of len(buf) bytes. It
// returns how many bytes the device sent; a short answer is not an error (the caller knows
// what it needs). A stall or babble becomes a *RequestError naming the request.
func (d *Device) ReadCmd(ctx context.Context, s Setup, buf []byte) (int, error) {
	return controlIn(ctx, d.T, s, buf)
}

// controlIn runs a control IN transfer and turns a stall, babble or transport error into a
// *RequestError.
func controlIn(ctx context.Context, t Transport, s Setup, buf []byte) (int, error) {
	n, st, err := t.ControlIn(ctx, s, buf)
	if err != nil {
		return n, &RequestError{In: true, Setup: s, Length: len(buf), Err: err}
	}
	if st != StatusOK {
		return n, &RequestError{In: true, Setup: s, Length: len(buf), Status: st}
	}
	return n, nil
}

// WriteCmd is usbnet_write_cmd: a control transfer with data as its OUT data stage (none when
// data is empty). A stall or babble becomes a *RequestError naming the request.
func (d *Device) WriteCmd(ctx context.Context, s Setup, data []byte) error {
	st, err := d.T.ControlOut(ctx, s, data)
	if err != nil {
		return &RequestError{Setup: s, Length: len(data), Err: err}
	}
	if st != StatusOK {
		return &RequestError{Setup: s, Length: len(data), Status: st}
	}
	return nil
}

// GetEndpoints is usbnet_get_endpoints: scan the alternate settings of interface iface in
// order, ignoring endpoints with wMaxPacketSize 0; in each take the first bulk IN, the first
// bulk OUT and the first interrupt IN; stop at the first alternate setting that has both bulk
// endpoints and select it (SET_INTERFACE), unless it is alternate 0 and noSetInterface is set
// (Linux FLAG_NO_SETINT). It fills d.In, d.Out, d.Intr and d.HasIntr.
//
// Linux compares the whole bmAttributes byte with the transfer type, so it would skip an
// interrupt endpoint whose USB 3 usage bits are set; this takes the transfer type bits only.
func (d *Device) GetEndpoints(ctx context.Context, iface uint8, noSetInterface bool) error {
	intf := d.Config.Interface(iface)
	if intf == nil {
		return fmt.Errorf("usbnic: configuration %d has no interface %d", d.Config.Value, iface)
	}
	for i := range intf.Alternates {
		alt := &intf.Alternates[i]
		var in, out, status *Endpoint
		for k := range alt.Endpoints {
			e := &alt.Endpoints[k]
			if e.MaxPacketSize == 0 {
				continue // cannot transfer data
			}
			switch {
			case e.Type() == EndpointBulk && e.In() && in == nil:
				in = e
			case e.Type() == EndpointBulk && !e.In() && out == nil:
				out = e
			case e.Type() == EndpointInterrupt && e.In() && status == nil:
				status = e
			}
		}
		if in == nil || out == nil {
			continue
		}
		if alt.Alternate != 0 || !noSetInterface {
			if err := d.T.SelectAlternate(ctx, iface, alt.Alternate); err != nil {
				return fmt.Errorf("usbnic: SET_INTERFACE interface %d alternate %d: %w", iface, alt.Alternate, err)
			}
		}
		d.In, d.Out = *in, *out
		d.Intr, d.HasIntr = Endpoint{}, status != nil
		if status != nil {
			d.Intr = *status
		}
		return nil
	}
	return fmt.Errorf("usbnic: interface %d has no alternate setting with both a bulk IN and a bulk OUT endpoint", iface)
}

// SpeedFromMaxPacket infers the bus speed from a bulk endpoint's wMaxPacketSize, which the
// USB specification fixes per speed: 1024 at SuperSpeed, 512 at high speed, at most 64 at full
// speed. WebUSB does not report the speed, so this is how the core learns it.
func SpeedFromMaxPacket(mps uint16) Speed {
	switch {
	case mps >= 1024:
		return SpeedSuper
	case mps >= 512:
		return SpeedHigh
	case mps > 0:
		return SpeedFull
	}
	return SpeedUnknown
}

// UpdateSpeed sets d.Speed: the transport's answer when it has one, else inferred from the
// bulk endpoints bind chose (OUT first: its wMaxPacketSize is also the short-packet unit).
func (d *Device) UpdateSpeed() {
	if s := d.T.Speed(); s != SpeedUnknown {
		d.Speed = s
		return
	}
	d.Speed = SpeedFromMaxPacket(d.Out.MaxPacketSize)
	if d.Speed == SpeedUnknown {
		d.Speed = SpeedFromMaxPacket(d.In.MaxPacketSize)
	}
}

// MaxQueueMemory is usbnet's MAX_QUEUE_MEMORY: the bytes of transfers it keeps in flight per
// direction at high speed, about 5 ms of bus time.
const MaxQueueMemory = 60 * 1518

// QueueLengths is usbnet_update_max_qlen: how many bulk-IN and bulk-OUT transfers to keep in
// flight. High speed: MaxQueueMemory divided by the transfer size; SuperSpeed: five times that;
// full/low speed or sizes not yet known: 4 each. RX divides by d.RxBufferSize. TX divides by
// d.TxMaxTransfer (falling back to d.HardMTU): Linux's hard_mtu "counts any extra framing" and
// cdc_ncm sets it to the NTB size, which is what TxMaxTransfer is here.
func (d *Device) QueueLengths() (rx, tx int) {
	txSize := d.TxMaxTransfer
	if txSize == 0 {
		txSize = d.HardMTU
	}
	if d.RxBufferSize <= 0 || txSize <= 0 {
		return 4, 4
	}
	switch d.Speed {
	case SpeedHigh:
		return max(1, MaxQueueMemory/d.RxBufferSize), max(1, MaxQueueMemory/txSize)
	case SpeedSuper:
		return max(1, 5*MaxQueueMemory/d.RxBufferSize), max(1, 5*MaxQueueMemory/txSize)
	}
	return 4, 4
}

// ParseMACString parses an iMACAddress string: exactly 12 hexadecimal digits, most
// significant first ("020000000002" is 02:00:00:00:00:02). Linux fails bind on anything else.
func ParseMACString(s string) ([6]byte, error) {
	var mac [6]byte
	if len(s) != 12 {
		return mac, fmt.Errorf("iMACAddress string %q: %d characters, want 12 hex digits", s, len(s))
	}
	for i := 0; i < 12; i++ {
		if _, ok := hexDigit(s[i]); !ok {
			return mac, fmt.Errorf("iMACAddress string %q: character %d (%q) is not a hex digit", s, i, s[i])
		}
	}
	for i := range mac {
		hi, _ := hexDigit(s[2*i])
		lo, _ := hexDigit(s[2*i+1])
		mac[i] = hi<<4 | lo
	}
	return mac, nil
}

// GetEthernetAddr is usbnet_get_ethernet_addr: read string descriptor iMACAddress (after the
// language table) and set d.MAC and d.PermanentMAC from it.
func (d *Device) GetEthernetAddr(ctx context.Context, iMACAddress uint8) error {
	if iMACAddress == 0 {
		return fmt.Errorf("usbnic: CDC Ethernet descriptor has no iMACAddress string")
	}
	lang, err := ReadLangID(ctx, d.T)
	if err != nil {
		return err
	}
	s, err := ReadString(ctx, d.T, iMACAddress, lang)
	if err != nil {
		return err
	}
	mac, err := ParseMACString(s)
	if err != nil {
		return err
	}
	d.MAC, d.PermanentMAC = mac, mac
	return nil
}

func hexDigit(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// Package usbfake is a scripted usbnic.Transport for the tests of usbnic and its minidrivers:
// it answers control requests from tables and records every request in the order it was made
// (formatted like the setup rows of data/usb/README.md). It models no chip and no data path;
// usbnic/sim does that.
package usbfake

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"webminiport/usbnic"
)

// Key identifies a control request regardless of direction and wLength.
type Key struct {
	Type    usbnic.RequestType
	Request uint8
	Value   uint16
	Index   uint16
}

// K builds a Key.
func K(typ usbnic.RequestType, request uint8, value, index uint16) Key {
	return Key{Type: typ, Request: request, Value: value, Index: index}
}

// Device is a fake USB device. Fill the exported fields before use; the zero value of the
// maps means "no answers".
type Device struct {
	Dev      []byte   // device descriptor
	Configs  [][]byte // full configuration descriptors, by index
	BusSpeed usbnic.Speed
	LangIDs  []uint16         // string descriptor 0; empty means the device stalls it
	Strings  map[uint8]string // string descriptors by index
	InData   map[Key][]byte   // answers to other IN requests
	Stall    map[Key]bool     // requests (either direction) the device stalls

	mu      sync.Mutex
	log     []string
	config  uint8
	claimed map[uint8]bool
	alt     map[uint8]uint8
	gone    chan struct{}
}

// Log returns the requests made so far: "claim N", "release N", "config N", and for control
// transfers "ctrl" followed by the 8 setup bytes in hex (SET_INTERFACE included, as Linux
// issues it), then "data" and the OUT data stage when there is one.
func (f *Device) Log() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.log...)
}

// Alt returns the alternate setting currently selected on iface.
func (f *Device) Alt(iface uint8) uint8 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.alt[iface]
}

// Claimed reports whether iface is claimed.
func (f *Device) Claimed(iface uint8) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.claimed[iface]
}

func (f *Device) record(format string, args ...any) {
	f.mu.Lock()
	f.log = append(f.log, fmt.Sprintf(format, args...))
	f.mu.Unlock()
}

// SetupHex formats a setup packet as the README tables do: "a1 80 00 00 00 00 1c 00".
func SetupHex(s usbnic.Setup, in bool, length int) string {
	return fmt.Sprintf("%02x %02x %02x %02x %02x %02x %02x %02x", s.RequestTypeByte(in), s.Request,
		uint8(s.Value), uint8(s.Value>>8), uint8(s.Index), uint8(s.Index>>8), uint8(length), uint8(length>>8))
}

func hexBytes(b []byte) string {
	var sb strings.Builder
	for i, c := range b {
		if i > 0 {
			sb.WriteByte(' ')
		}
		fmt.Fprintf(&sb, "%02x", c)
	}
	return sb.String()
}

func (f *Device) DeviceDescriptor() []byte { return f.Dev }

func (f *Device) ConfigDescriptor(ctx context.Context, i int) ([]byte, error) {
	if i < 0 || i >= len(f.Configs) {
		return nil, fmt.Errorf("usbfake: no configuration index %d", i)
	}
	return f.Configs[i], nil
}

func (f *Device) Speed() usbnic.Speed { return f.BusSpeed }

func (f *Device) Open(ctx context.Context) error  { return nil }
func (f *Device) Close(ctx context.Context) error { return nil }
func (f *Device) Reset(ctx context.Context) error { return nil }

func (f *Device) SelectConfiguration(ctx context.Context, value uint8) error {
	f.record("config %d", value)
	f.mu.Lock()
	f.config = value
	f.mu.Unlock()
	return nil
}

func (f *Device) Configuration() uint8 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.config
}

func (f *Device) ClaimInterface(ctx context.Context, iface uint8) error {
	f.record("claim %d", iface)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.claimed == nil {
		f.claimed = map[uint8]bool{}
	}
	f.claimed[iface] = true
	return nil
}

func (f *Device) ReleaseInterface(ctx context.Context, iface uint8) error {
	f.record("release %d", iface)
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.claimed, iface)
	return nil
}

func (f *Device) SelectAlternate(ctx context.Context, iface, alt uint8) error {
	s := usbnic.Setup{Type: usbnic.Standard, Recipient: usbnic.ToInterface, Request: usbnic.ReqSetInterface, Value: uint16(alt), Index: uint16(iface)}
	f.record("ctrl %s", SetupHex(s, false, 0))
	if f.Stall[K(s.Type, s.Request, s.Value, s.Index)] {
		return errors.New("usbfake: SET_INTERFACE stalled")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.alt == nil {
		f.alt = map[uint8]uint8{}
	}
	f.alt[iface] = alt
	return nil
}

func (f *Device) ControlIn(ctx context.Context, s usbnic.Setup, buf []byte) (int, usbnic.Status, error) {
	f.record("ctrl %s", SetupHex(s, true, len(buf)))
	k := K(s.Type, s.Request, s.Value, s.Index)
	if f.Stall[k] {
		return 0, usbnic.StatusStall, nil
	}
	if s.Type == usbnic.Standard && s.Request == usbnic.ReqGetDescriptor && s.Value>>8 == usbnic.DescString {
		idx := uint8(s.Value)
		var d []byte
		if idx == 0 {
			if len(f.LangIDs) == 0 {
				return 0, usbnic.StatusStall, nil
			}
			d = []byte{byte(2 + 2*len(f.LangIDs)), usbnic.DescString}
			for _, id := range f.LangIDs {
				d = append(d, byte(id), byte(id>>8))
			}
		} else {
			str, ok := f.Strings[idx]
			if !ok {
				return 0, usbnic.StatusStall, nil
			}
			d = StringDescriptor(str)
		}
		return copy(buf, d), usbnic.StatusOK, nil
	}
	d, ok := f.InData[k]
	if !ok {
		return 0, usbnic.StatusStall, nil
	}
	return copy(buf, d), usbnic.StatusOK, nil
}

func (f *Device) ControlOut(ctx context.Context, s usbnic.Setup, data []byte) (usbnic.Status, error) {
	if len(data) > 0 {
		f.record("ctrl %s data %s", SetupHex(s, false, len(data)), hexBytes(data))
	} else {
		f.record("ctrl %s", SetupHex(s, false, 0))
	}
	if f.Stall[K(s.Type, s.Request, s.Value, s.Index)] {
		return usbnic.StatusStall, nil
	}
	return usbnic.StatusOK, nil
}

func (f *Device) TransferIn(ctx context.Context, ep uint8, buf []byte) (int, usbnic.Status, error) {
	return 0, usbnic.StatusOK, errors.New("usbfake: no bulk IN data scripted")
}

func (f *Device) TransferOut(ctx context.Context, ep uint8, data []byte) (int, usbnic.Status, error) {
	return 0, usbnic.StatusOK, errors.New("usbfake: bulk OUT is not modelled")
}

func (f *Device) ClearHalt(ctx context.Context, ep uint8) error {
	f.record("clear-halt %#02x", ep)
	return nil
}

func (f *Device) Disconnected() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.gone == nil {
		f.gone = make(chan struct{})
	}
	return f.gone
}

// StringDescriptor encodes s as a string descriptor (UTF-16LE, BMP only: enough for tests).
func StringDescriptor(s string) []byte {
	r := []rune(s)
	d := []byte{byte(2 + 2*len(r)), usbnic.DescString}
	for _, c := range r {
		d = append(d, byte(c), byte(c>>8))
	}
	return d
}

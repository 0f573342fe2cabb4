//go:build js && wasm

package webusb

import (
	"context"

	"webminiport/usbnic"
)

// stubTransport is a minimal usbnic.Transport with hand-written descriptors: interface 0 is HID
// (a protected class) with an interrupt IN endpoint, interface 1 is vendor-specific with bulk IN
// 0x82 and OUT 0x02. Bulk IN transfers complete at once, full, with a fixed pattern: the
// benchmark measures the JS path, not a device model.
type stubTransport struct {
	gone chan struct{}
}

func newStub() *stubTransport { return &stubTransport{gone: make(chan struct{})} }

var stubDevice = []byte{
	18, 0x01, 0x00, 0x02, // bLength, DEVICE, bcdUSB 2.00
	0x00, 0x00, 0x00, 64, // class per interface, bMaxPacketSize0 64
	0x34, 0x12, 0x78, 0x56, // idVendor 0x1234, idProduct 0x5678
	0x00, 0x01, 0, 0, 0, 1, // bcdDevice 1.00, no strings, 1 configuration
}

var stubConfig = []byte{
	9, 0x02, 48, 0, 2, 1, 0, 0x80, 50, // CONFIGURATION, wTotalLength 48, 2 interfaces, value 1
	9, 0x04, 0, 0, 1, 0x03, 0x00, 0x00, 0, // INTERFACE 0 alt 0, 1 endpoint, HID 03/00/00
	7, 0x05, 0x81, 0x03, 8, 0, 10, // ENDPOINT 0x81 interrupt, 8 bytes
	9, 0x04, 1, 0, 2, 0xFF, 0x00, 0x00, 0, // INTERFACE 1 alt 0, 2 endpoints, vendor FF/00/00
	7, 0x05, 0x82, 0x02, 0x00, 0x02, 0, // ENDPOINT 0x82 bulk, 512 bytes
	7, 0x05, 0x02, 0x02, 0x00, 0x02, 0, // ENDPOINT 0x02 bulk, 512 bytes
}

func (s *stubTransport) DeviceDescriptor() []byte { return append([]byte(nil), stubDevice...) }
func (s *stubTransport) ConfigDescriptor(ctx context.Context, i int) ([]byte, error) {
	return append([]byte(nil), stubConfig...), nil
}
func (s *stubTransport) Speed() usbnic.Speed                                 { return usbnic.SpeedHigh }
func (s *stubTransport) Open(context.Context) error                          { return nil }
func (s *stubTransport) Close(context.Context) error                         { return nil }
func (s *stubTransport) Reset(context.Context) error                         { return nil }
func (s *stubTransport) SelectConfiguration(context.Context, uint8) error    { return nil }
func (s *stubTransport) Configuration() uint8                                { return 1 }
func (s *stubTransport) ClaimInterface(context.Context, uint8) error         { return nil }
func (s *stubTransport) ReleaseInterface(context.Context, uint8) error       { return nil }
func (s *stubTransport) SelectAlternate(context.Context, uint8, uint8) error { return nil }
func (s *stubTransport) ClearHalt(context.Context, uint8) error              { return nil }
func (s *stubTransport) Disconnected() <-chan struct{}                       { return s.gone }
func (s *stubTransport) ControlOut(context.Context, usbnic.Setup, []byte) (usbnic.Status, error) {
	return usbnic.StatusOK, nil
}
func (s *stubTransport) ControlIn(_ context.Context, st usbnic.Setup, buf []byte) (int, usbnic.Status, error) {
	if st.Request == usbnic.ReqGetDescriptor && st.Value == 0x0200 {
		return copy(buf, stubConfig), usbnic.StatusOK, nil
	}
	return 0, usbnic.StatusStall, nil
}
func (s *stubTransport) TransferIn(_ context.Context, ep uint8, buf []byte) (int, usbnic.Status, error) {
	for i := range buf {
		buf[i] = byte(i)
	}
	return len(buf), usbnic.StatusOK, nil
}
func (s *stubTransport) TransferOut(_ context.Context, ep uint8, data []byte) (int, usbnic.Status, error) {
	return len(data), usbnic.StatusOK, nil
}

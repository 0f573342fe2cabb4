package ax88179

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"webminiport/usbnic"
)

// RequestError is a vendor control request that failed: either the transport could not run it
// (Err set: device gone, cancelled) or the device refused it (a stall, or a short data stage).
type RequestError struct {
	In      bool
	Request uint8
	Value   uint16
	Index   uint16
	Length  int           // wLength
	Status  usbnic.Status // the device's answer when Err is nil
	Got     int           // bytes received, for a short read
	Err     error
}

func (e *RequestError) Error() string {
	what := describe(e.In, e.Request, e.Value, e.Index, e.Length)
	switch {
	case e.Err != nil:
		return fmt.Sprintf("ax88179: %s: %v", what, e.Err)
	case e.Status != usbnic.StatusOK:
		return fmt.Sprintf("ax88179: %s: device answered %s", what, e.Status)
	default:
		return fmt.Sprintf("ax88179: %s: short read, %d of %d bytes", what, e.Got, e.Length)
	}
}

// Unwrap gives the transport's error (usbnic.ErrDisconnected, context.Canceled, ...).
func (e *RequestError) Unwrap() error { return e.Err }

func describe(in bool, req uint8, value, index uint16, n int) string {
	dir := "write"
	if in {
		dir = "read"
	}
	switch req {
	case reqAccessMAC:
		return fmt.Sprintf("%s MAC register 0x%02x (%d bytes)", dir, value, n)
	case reqAccessPHY:
		return fmt.Sprintf("%s PHY %d register 0x%02x", dir, value, index)
	case reqAccessEEPROM:
		return fmt.Sprintf("%s EEPROM word 0x%02x", dir, value)
	case reqAccessEFuse:
		return fmt.Sprintf("%s eFuse (%d bytes)", dir, n)
	}
	return fmt.Sprintf("%s vendor request 0x%02x value 0x%04x index 0x%04x (%d bytes)", dir, req, value, index, n)
}

// refused reports whether err is a request the device itself turned down. Linux reads a few
// registers only to learn whether a feature exists (auto-detach EEPROM word, wake-on-LAN,
// eFuse, LED EEPROM word) and takes a failed read as "no"; a transport failure is never a no.
func refused(err error) bool {
	var re *RequestError
	return errors.As(err, &re) && re.Err == nil
}

func vendor(req uint8, value, index uint16) usbnic.Setup {
	return usbnic.Setup{Type: usbnic.Vendor, Recipient: usbnic.ToDevice, Request: req, Value: value, Index: index}
}

// readCmd is Linux's __ax88179_read_cmd: a vendor IN request of len(buf) bytes that must all
// arrive.
func readCmd(ctx context.Context, d *usbnic.Device, req uint8, value, index uint16, buf []byte) error {
	n, st, err := d.T.ControlIn(ctx, vendor(req, value, index), buf)
	if err != nil || st != usbnic.StatusOK || n != len(buf) {
		return &RequestError{In: true, Request: req, Value: value, Index: index, Length: len(buf), Status: st, Got: n, Err: err}
	}
	return nil
}

func writeCmd(ctx context.Context, d *usbnic.Device, req uint8, value, index uint16, data []byte) error {
	st, err := d.T.ControlOut(ctx, vendor(req, value, index), data)
	if err != nil || st != usbnic.StatusOK {
		return &RequestError{Request: req, Value: value, Index: index, Length: len(data), Status: st, Err: err}
	}
	return nil
}

// MAC registers are addressed by wValue; the byte count goes in wIndex as well as wLength.

func readMAC(ctx context.Context, d *usbnic.Device, reg uint16, buf []byte) error {
	return readCmd(ctx, d, reqAccessMAC, reg, uint16(len(buf)), buf)
}

func writeMAC(ctx context.Context, d *usbnic.Device, reg uint16, data []byte) error {
	return writeCmd(ctx, d, reqAccessMAC, reg, uint16(len(data)), data)
}

func readMAC8(ctx context.Context, d *usbnic.Device, reg uint16) (uint8, error) {
	var b [1]byte
	err := readMAC(ctx, d, reg, b[:])
	return b[0], err
}

func writeMAC8(ctx context.Context, d *usbnic.Device, reg uint16, v uint8) error {
	return writeMAC(ctx, d, reg, []byte{v})
}

func readMAC16(ctx context.Context, d *usbnic.Device, reg uint16) (uint16, error) {
	var b [2]byte
	err := readMAC(ctx, d, reg, b[:])
	return binary.LittleEndian.Uint16(b[:]), err
}

func writeMAC16(ctx context.Context, d *usbnic.Device, reg uint16, v uint16) error {
	return writeMAC(ctx, d, reg, binary.LittleEndian.AppendUint16(nil, v))
}

// PHY registers: wValue = PHY address, wIndex = register, two bytes LE.

func readPHY(ctx context.Context, d *usbnic.Device, reg uint16) (uint16, error) {
	var b [2]byte
	err := readCmd(ctx, d, reqAccessPHY, phyAddr, reg, b[:])
	return binary.LittleEndian.Uint16(b[:]), err
}

func writePHY(ctx context.Context, d *usbnic.Device, reg uint16, v uint16) error {
	return writeCmd(ctx, d, reqAccessPHY, phyAddr, reg, binary.LittleEndian.AppendUint16(nil, v))
}

// readEEPROM reads one 16-bit EEPROM word: wValue = word address, wIndex = 1, wLength = 2.
func readEEPROM(ctx context.Context, d *usbnic.Device, word uint16) (uint16, error) {
	var b [2]byte
	err := readCmd(ctx, d, reqAccessEEPROM, word, 1, b[:])
	return binary.LittleEndian.Uint16(b[:]), err
}

// MMD (clause 45) registers through the clause 22 indirect pair, as ax88179_phy_mmd_indirect:
// devad to the control register, the register number to data, devad|no-increment to control.
func selectMMD(ctx context.Context, d *usbnic.Device, reg, devad uint16) error {
	if err := writePHY(ctx, d, miiMMDCtrl, devad); err != nil {
		return err
	}
	if err := writePHY(ctx, d, miiMMDData, reg); err != nil {
		return err
	}
	return writePHY(ctx, d, miiMMDCtrl, devad|mmdNoIncr)
}

func readMMD(ctx context.Context, d *usbnic.Device, reg, devad uint16) (uint16, error) {
	if err := selectMMD(ctx, d, reg, devad); err != nil {
		return 0, err
	}
	return readPHY(ctx, d, miiMMDData)
}

func writeMMD(ctx context.Context, d *usbnic.Device, reg, devad, v uint16) error {
	if err := selectMMD(ctx, d, reg, devad); err != nil {
		return err
	}
	return writePHY(ctx, d, miiMMDData, v)
}

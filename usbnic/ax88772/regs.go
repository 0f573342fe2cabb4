package ax88772

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"webminiport/usbnic"
)

// RequestError is a vendor control request that failed: either the transport could not run it
// (Err set: device gone, cancelled) or the device refused it (a stall, or a short data stage,
// which Linux 6.18's asix_read_cmd also treats as an error).
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
	dir := "write"
	if e.In {
		dir = "read"
	}
	what := fmt.Sprintf("%s request 0x%02x (%s) value 0x%04x index 0x%04x, %d bytes", dir, e.Request, cmdName(e.Request), e.Value, e.Index, e.Length)
	switch {
	case e.Err != nil:
		return fmt.Sprintf("ax88772: %s: %v", what, e.Err)
	case e.Status != usbnic.StatusOK:
		return fmt.Sprintf("ax88772: %s: device answered %s", what, e.Status)
	default:
		return fmt.Sprintf("ax88772: %s: short read, %d bytes", what, e.Got)
	}
}

// Unwrap gives the transport's error (usbnic.ErrDisconnected, context.Canceled, ...).
func (e *RequestError) Unwrap() error { return e.Err }

func cmdName(req uint8) string {
	switch req {
	case cmdSetSWMII:
		return "SET_SW_MII"
	case cmdReadMII:
		return "READ_MII_REG"
	case cmdWriteMII:
		return "WRITE_MII_REG"
	case cmdStatMngSts:
		return "STATMNGSTS_REG"
	case cmdSetHWMII:
		return "SET_HW_MII"
	case cmdReadEEPROM:
		return "READ_EEPROM"
	case cmdReadRxCtl:
		return "READ_RX_CTL"
	case cmdWriteRxCtl:
		return "WRITE_RX_CTL"
	case cmdWriteIPG0:
		return "WRITE_IPG0"
	case cmdReadNodeID:
		return "READ_NODE_ID"
	case cmdWriteNodeID:
		return "WRITE_NODE_ID"
	case cmdWriteMulticast:
		return "WRITE_MULTI_FILTER"
	case cmdReadPHYID:
		return "READ_PHY_ID"
	case cmdReadMedium:
		return "READ_MEDIUM_STATUS"
	case cmdWriteMedium:
		return "WRITE_MEDIUM_MODE"
	case cmdWriteGPIOs:
		return "WRITE_GPIOS"
	case cmdSWReset:
		return "SW_RESET"
	case cmdSWPHYSelect:
		return "SW_PHY_SELECT"
	case cmdQCTCtrl:
		return "QCTCTRL"
	}
	return "unknown"
}

// refused reports whether err is a request the device itself turned down, as opposed to one
// the transport could not run.
func refused(err error) bool {
	var re *RequestError
	return errors.As(err, &re) && re.Err == nil
}

func vendor(req uint8, value, index uint16) usbnic.Setup {
	return usbnic.Setup{Type: usbnic.Vendor, Recipient: usbnic.ToDevice, Request: req, Value: value, Index: index}
}

// readCmd is asix_read_cmd: a vendor IN request whose len(buf) bytes must all arrive.
func readCmd(ctx context.Context, d *usbnic.Device, req uint8, value, index uint16, buf []byte) error {
	n, st, err := d.T.ControlIn(ctx, vendor(req, value, index), buf)
	if err != nil || st != usbnic.StatusOK || n != len(buf) {
		return &RequestError{In: true, Request: req, Value: value, Index: index, Length: len(buf), Status: st, Got: n, Err: err}
	}
	return nil
}

// writeCmd is asix_write_cmd. Most AX88772 registers are written through wValue with no data
// stage.
func writeCmd(ctx context.Context, d *usbnic.Device, req uint8, value, index uint16, data []byte) error {
	st, err := d.T.ControlOut(ctx, vendor(req, value, index), data)
	if err != nil || st != usbnic.StatusOK {
		return &RequestError{Request: req, Value: value, Index: index, Length: len(data), Status: st, Err: err}
	}
	return nil
}

// hostEnableTries is AX_HOST_EN_RETRIES.
const hostEnableTries = 30

// mdioTimeoutError is the MDIO handshake giving up: the chip never set HOST_EN.
type mdioTimeoutError struct{ tries int }

func (e *mdioTimeoutError) Error() string {
	return fmt.Sprintf("ax88772: MDIO: STATMNGSTS never showed HOST_EN after %d SET_SW_MII tries", e.tries)
}

// hostEnable is asix_check_host_enable: ask for software ownership of the MDIO bus, give the
// chip a millisecond, and check STATMNGSTS.HOST_EN; up to 30 times. A request the device
// refuses is retried like Linux does; a transport failure ends the handshake.
func (m *Minidriver) hostEnable(ctx context.Context, d *usbnic.Device) error {
	for range hostEnableTries {
		if err := writeCmd(ctx, d, cmdSetSWMII, 0, 0, nil); err != nil && !refused(err) {
			return err
		}
		if err := m.sleep(ctx, time.Millisecond); err != nil {
			return err
		}
		var s [1]byte
		err := readCmd(ctx, d, cmdStatMngSts, 0, 0, s[:])
		if err != nil && !refused(err) {
			return err
		}
		if err == nil && s[0]&hostEn != 0 {
			return nil
		}
	}
	return &mdioTimeoutError{tries: hostEnableTries}
}

// mdioRead reads a PHY register: the handshake, READ_MII_REG (wValue = PHY, wIndex = register),
// and SET_HW_MII to hand the bus back to the chip.
func (m *Minidriver) mdioRead(ctx context.Context, d *usbnic.Device, reg uint16) (uint16, error) {
	if err := m.hostEnable(ctx, d); err != nil {
		return 0, err
	}
	var b [2]byte
	if err := readCmd(ctx, d, cmdReadMII, uint16(m.phy), reg, b[:]); err != nil {
		return 0, err
	}
	if err := writeCmd(ctx, d, cmdSetHWMII, 0, 0, nil); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint16(b[:]), nil
}

// mdioWrite writes a PHY register with the same handshake.
func (m *Minidriver) mdioWrite(ctx context.Context, d *usbnic.Device, reg, v uint16) error {
	if err := m.hostEnable(ctx, d); err != nil {
		return err
	}
	if err := writeCmd(ctx, d, cmdWriteMII, uint16(m.phy), reg, binary.LittleEndian.AppendUint16(nil, v)); err != nil {
		return err
	}
	return writeCmd(ctx, d, cmdSetHWMII, 0, 0, nil)
}

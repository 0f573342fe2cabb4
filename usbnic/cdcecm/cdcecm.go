// Package cdcecm is the CDC Ethernet Control Model minidriver, after Linux cdc_ether
// (usbnet_cdc_bind, usbnet_cdc_status, usbnet_cdc_update_filter): a control interface
// (02/06/00) with the CDC functional descriptors and an optional interrupt IN endpoint, and a
// CDC Data interface whose alternate setting 1 carries one Ethernet frame per bulk transfer.
package cdcecm

import (
	"context"
	"errors"
	"fmt"

	"webminiport/usbnic"
)

// Driver is the CDC-ECM entry of the match table.
var Driver = &usbnic.Driver{Name: "cdc_ether", New: func() usbnic.Minidriver { return &ecm{} }}

// ethHeaderLen is the Ethernet header; a shorter transfer cannot be a frame.
const ethHeaderLen = 14

// defaultHardMTU is usbnet's hard_mtu before bind (MTU 1500 + 14), kept when the device's
// wMaxSegmentSize is 0.
const defaultHardMTU = 1514

// ecm is one bound CDC-ECM device.
type ecm struct {
	control, data uint8
	hardMTU       int
	maxPacket     int // bulk OUT wMaxPacketSize: the unit of the short-packet rule

	// speedSplit: a CONNECTION_SPEED_CHANGE came without its 8 bytes of rates, which the next
	// interrupt transfer then carries (usbnet EVENT_STS_SPLIT). Only Status touches it.
	speedSplit bool
}

// Bind follows usbnet_generic_cdc_bind, usbnet_ether_cdc_bind and usbnet_cdc_bind: find the
// control interface and its Union, check the data interface, claim both, select the data
// interface's alternate setting with bulk endpoints (alternate 1), take the status endpoint
// from the control interface, write the initial packet filter, and read the MAC from the
// iMACAddress string.
func (m *ecm) Bind(ctx context.Context, d *usbnic.Device) error {
	if d.Config == nil {
		return errors.New("cdc_ether: no active configuration")
	}
	ctrl := d.Config.FindInterface(usbnic.ClassComm, usbnic.SubclassCDCECM, usbnic.ProtocolCDCNone)
	if ctrl == nil {
		return fmt.Errorf("cdc_ether: configuration %d has no CDC-ECM control interface (02/06/00)", d.Config.Value)
	}
	ctrlAlt := ctrl.Default()
	cdc := ctrlAlt.CDC
	if cdc.Union == nil {
		return fmt.Errorf("cdc_ether: interface %d has no CDC Union descriptor", ctrl.Number)
	}
	control, data := cdc.Union.Master, cdc.Union.Slaves[0]
	if control != ctrl.Number {
		// The Ambit cable modem swaps master and slave; anything else is nonsense.
		if data != ctrl.Number {
			return fmt.Errorf("cdc_ether: bogus CDC Union on interface %d: master %d, slave %d", ctrl.Number, control, data)
		}
		control, data = data, control
	}
	if control != data {
		if c := d.Config.Interface(data).Default().Class; c != usbnic.ClassCDCData {
			return fmt.Errorf("cdc_ether: data interface %d has class %#02x, want %#02x (CDC Data)", data, c, usbnic.ClassCDCData)
		}
	}
	if cdc.Header == nil {
		return fmt.Errorf("cdc_ether: interface %d has no CDC Header descriptor", ctrl.Number)
	}
	if cdc.Ethernet == nil {
		return fmt.Errorf("cdc_ether: interface %d has no CDC Ethernet Networking descriptor", ctrl.Number)
	}
	m.control, m.data = control, data
	m.hardMTU = defaultHardMTU
	if s := int(cdc.Ethernet.MaxSegmentSize); s != 0 {
		m.hardMTU = s
	}

	// WebUSB needs the control interface claimed for class requests to it.
	if err := d.T.ClaimInterface(ctx, control); err != nil {
		return fmt.Errorf("cdc_ether: claiming control interface %d: %w", control, err)
	}
	if data != control {
		if err := d.T.ClaimInterface(ctx, data); err != nil {
			m.release(ctx, d)
			return fmt.Errorf("cdc_ether: claiming data interface %d: %w", data, err)
		}
	}
	if err := d.GetEndpoints(ctx, data, false); err != nil {
		m.release(ctx, d)
		return fmt.Errorf("cdc_ether: %w", err)
	}
	m.maxPacket = int(d.Out.MaxPacketSize)

	// The status endpoint is optional for ECM: used only when the control interface has
	// exactly one endpoint and it is a usable interrupt IN endpoint.
	if data != control {
		d.Intr, d.HasIntr = usbnic.Endpoint{}, false
	}
	if eps := d.Config.Interface(control).Default().Endpoints; len(eps) == 1 {
		e := eps[0]
		if e.In() && e.Type() == usbnic.EndpointInterrupt && e.MaxPacketSize >= usbnic.NotificationHeaderLen && e.Interval != 0 {
			d.Intr, d.HasIntr = e, true
		} else {
			d.Intr, d.HasIntr = usbnic.Endpoint{}, false
			d.Logf("cdc_ether: unusable notification endpoint %#02x ignored", e.Address)
		}
	}

	// "Some devices don't initialise properly. In particular the packet filter is not
	// reset." Linux sends DIRECTED|BROADCAST here and ignores a failure.
	if err := m.writeFilter(ctx, d, usbnic.CDCPacketDirected|usbnic.CDCPacketBroadcast); err != nil {
		d.Logf("cdc_ether: initial packet filter: %v", err)
	}

	if err := d.GetEthernetAddr(ctx, cdc.Ethernet.IMACAddress); err != nil {
		m.release(ctx, d)
		return fmt.Errorf("cdc_ether: MAC address: %w", err)
	}
	d.HardMTU = m.hardMTU
	d.RxBufferSize = m.hardMTU
	d.TxMaxTransfer = m.hardMTU + 1 // room for the byte of the short-packet rule
	return nil
}

// release gives back the interfaces Bind claimed; errors do not matter any more.
func (m *ecm) release(ctx context.Context, d *usbnic.Device) {
	if m.data != m.control {
		_ = d.T.ReleaseInterface(ctx, m.data)
	}
	_ = d.T.ReleaseInterface(ctx, m.control)
}

// Unbind releases the data and control interfaces.
func (m *ecm) Unbind(ctx context.Context, d *usbnic.Device) { m.release(ctx, d) }

// Reset has nothing to do: cdc_ether has no reset hook.
func (m *ecm) Reset(ctx context.Context, d *usbnic.Device) error { return nil }

// Stop has nothing to do: cdc_ether has no stop hook.
func (m *ecm) Stop(ctx context.Context, d *usbnic.Device) error { return nil }

// LinkReset has nothing to do: the link comes from notifications, without a reset.
func (m *ecm) LinkReset(ctx context.Context, d *usbnic.Device) error { return nil }

// Status parses one notification (usbnet_cdc_status). NETWORK_CONNECTION reports the link
// without asking for a link reset; CONNECTION_SPEED_CHANGE reports the rates, and when the
// transfer is not exactly 16 bytes the rates are taken from the next transfer, as Linux does
// for devices that split it into two 8-byte packets.
func (m *ecm) Status(d *usbnic.Device, data []byte) (usbnic.StatusEvent, error) {
	n, err := usbnic.ParseNotification(data)
	if err != nil {
		return usbnic.StatusEvent{}, fmt.Errorf("cdc_ether: %w", err)
	}
	if m.speedSplit {
		m.speedSplit = false
		rx, tx := usbnic.SpeedChangeRates(data)
		return usbnic.StatusEvent{HasSpeed: true, RxSpeed: rx, TxSpeed: tx}, nil
	}
	switch n.Code {
	case usbnic.NotifyNetworkConnection:
		return usbnic.StatusEvent{HasLink: true, LinkUp: n.Value != 0}, nil
	case usbnic.NotifySpeedChange:
		if len(data) != usbnic.NotificationHeaderLen+8 {
			m.speedSplit = true
			return usbnic.StatusEvent{}, nil
		}
		rx, tx := usbnic.SpeedChangeRates(data[usbnic.NotificationHeaderLen:])
		return usbnic.StatusEvent{HasSpeed: true, RxSpeed: rx, TxSpeed: tx}, nil
	}
	return usbnic.StatusEvent{}, fmt.Errorf("cdc_ether: unexpected %s", usbnic.NotificationName(n.Code))
}

// RxFixup hands the transfer on as one frame: ECM has no framing, a short packet (or a
// zero-length packet) ends each frame.
func (m *ecm) RxFixup(d *usbnic.Device, transfer []byte, sink usbnic.FrameSink) error {
	if len(transfer) < ethHeaderLen {
		return fmt.Errorf("cdc_ether: rx: %d-byte transfer is shorter than an Ethernet header (%d)", len(transfer), ethHeaderLen)
	}
	if len(transfer) > m.hardMTU {
		return fmt.Errorf("cdc_ether: rx: %d-byte transfer is longer than the %d-byte wMaxSegmentSize", len(transfer), m.hardMTU)
	}
	sink.Frame(transfer)
	return nil
}

// TxAppend copies the frame as the whole transfer: one frame per transfer.
func (m *ecm) TxAppend(d *usbnic.Device, buf []byte, used int, frame []byte) (int, bool, error) {
	if used != 0 {
		return used, true, usbnic.ErrTxFull
	}
	if len(frame) < ethHeaderLen {
		return 0, false, fmt.Errorf("cdc_ether: tx: %d-byte frame is shorter than an Ethernet header (%d)", len(frame), ethHeaderLen)
	}
	if len(frame) > m.hardMTU {
		return 0, false, fmt.Errorf("cdc_ether: tx: %d-byte frame is longer than the %d-byte wMaxSegmentSize", len(frame), m.hardMTU)
	}
	if len(frame) > len(buf) {
		return 0, false, fmt.Errorf("cdc_ether: tx: %d-byte frame does not fit the %d-byte transfer buffer", len(frame), len(buf))
	}
	return copy(buf, frame), true, nil
}

// TxFinish applies usbnet's short-packet rule for drivers without FLAG_SEND_ZLP and
// FLAG_MULTI_PACKET: a transfer whose length is a multiple of the bulk OUT wMaxPacketSize gets
// one zero byte appended, so it ends in a short packet ("strictly conforming cdc-ether devices
// should expect the ZLP here, but ignore the one-byte packet"). Should the buffer have no room
// for that byte (the core sized it below TxMaxTransfer), a zero-length packet ends the
// transfer instead.
func (m *ecm) TxFinish(d *usbnic.Device, buf []byte, used int) (int, bool) {
	if used == 0 || used%m.maxPacket != 0 {
		return used, false
	}
	if used == len(buf) {
		return used, true
	}
	buf[used] = 0
	return used + 1, false
}

// SetRxMode writes SET_ETHERNET_PACKET_FILTER (usbnet_cdc_update_filter) with the NDIS filter
// mapped to CDC bits; the multicast list only decides whether all multicast is wanted.
func (m *ecm) SetRxMode(ctx context.Context, d *usbnic.Device, packetFilter uint32, multicast [][6]byte) error {
	if err := m.writeFilter(ctx, d, usbnic.CDCPacketFilter(packetFilter, len(multicast))); err != nil {
		return fmt.Errorf("cdc_ether: %w", err)
	}
	return nil
}

func (m *ecm) writeFilter(ctx context.Context, d *usbnic.Device, filter uint16) error {
	return d.WriteCmd(ctx, usbnic.Setup{
		Type: usbnic.Class, Recipient: usbnic.ToInterface, Request: usbnic.CDCSetEthernetPacketFilter,
		Value: filter, Index: uint16(m.control),
	}, nil)
}

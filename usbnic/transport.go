// Package usbnic is the USB NIC miniport: the transport interface every USB backend implements
// (WebUSB, the virtual devices of usbnic/sim, a native Linux backend), descriptor parsing, the
// device match table types, and the usbnet-like core that runs a minidriver (usbnic/<chip>) and
// presents it to ndis as a miniport.
//
// The split follows Linux usbnet: the core owns everything adapters share (transfers in flight,
// refill, TX queueing, link state, error recovery, statistics); a minidriver is a handful of hooks
// (bind, unbind, reset, link reset, status, rx fixup, tx fixup, rx mode).
package usbnic

import (
	"context"
	"errors"
	"fmt"
)

// RequestType is the type field of bmRequestType (bits 5..6).
type RequestType uint8

// Request types as WebUSB names them ("standard", "class", "vendor").
const (
	Standard RequestType = 0
	Class    RequestType = 1
	Vendor   RequestType = 2
)

// Recipient is the recipient field of bmRequestType (bits 0..4).
type Recipient uint8

// Recipients as WebUSB names them.
const (
	ToDevice    Recipient = 0
	ToInterface Recipient = 1
	ToEndpoint  Recipient = 2
	ToOther     Recipient = 3
)

// Setup is a control transfer's setup packet without the direction bit and wLength: the
// direction comes from the call (ControlIn / ControlOut) and the length from the buffer.
type Setup struct {
	Type      RequestType
	Recipient Recipient
	Request   uint8
	Value     uint16
	Index     uint16
}

// RequestTypeByte returns bmRequestType for this setup packet in the given direction.
func (s Setup) RequestTypeByte(in bool) uint8 {
	b := uint8(s.Type)<<5 | uint8(s.Recipient)
	if in {
		b |= 0x80
	}
	return b
}

func (s Setup) String() string {
	return fmt.Sprintf("req=%#02x type=%d recip=%d value=%#04x index=%#04x", s.Request, s.Type, s.Recipient, s.Value, s.Index)
}

// Status is how a transfer that reached the device ended. It is distinct from an error: a stall
// or babble is a device answer the core handles (clear halt, count), while an error means the
// transfer could not be done at all (device gone, cancelled, rejected by the platform).
type Status uint8

// Transfer statuses, as WebUSB's USBTransferStatus ("ok", "stall", "babble").
const (
	StatusOK Status = iota
	StatusStall
	StatusBabble
)

func (s Status) String() string {
	switch s {
	case StatusOK:
		return "ok"
	case StatusStall:
		return "stall"
	case StatusBabble:
		return "babble"
	}
	return fmt.Sprintf("status(%d)", uint8(s))
}

// Speed is the bus speed the device runs at.
type Speed uint8

// Bus speeds. WebUSB does not report the speed; transports that cannot know it return
// SpeedUnknown and the core infers it from the bulk endpoints' wMaxPacketSize.
const (
	SpeedUnknown Speed = iota
	SpeedLow
	SpeedFull
	SpeedHigh
	SpeedSuper
)

func (s Speed) String() string {
	switch s {
	case SpeedLow:
		return "low"
	case SpeedFull:
		return "full"
	case SpeedHigh:
		return "high"
	case SpeedSuper:
		return "super"
	}
	return "unknown"
}

// ErrDisconnected is returned by every transport call once the device is gone.
var ErrDisconnected = errors.New("usb: device disconnected")

// Transport is one USB device as a USB host sees it. Calls block until the transfer ends or ctx is
// done; several calls may be outstanding at once (several bulk-IN transfers on one endpoint, a
// control transfer beside them), each from its own goroutine. Endpoint arguments are endpoint
// addresses with the direction bit (0x81 = IN 1, 0x02 = OUT 2).
type Transport interface {
	// DeviceDescriptor returns the raw 18-byte device descriptor.
	DeviceDescriptor() []byte
	// ConfigDescriptor returns the raw full configuration descriptor (all wTotalLength bytes) of
	// configuration index i (0-based, as GET_DESCRIPTOR numbers them).
	ConfigDescriptor(ctx context.Context, i int) ([]byte, error)
	// Speed returns the bus speed, or SpeedUnknown when the platform does not say.
	Speed() Speed

	Open(ctx context.Context) error
	Close(ctx context.Context) error
	// Reset resets the device (USBDevice.reset).
	Reset(ctx context.Context) error
	// SelectConfiguration sets bConfigurationValue.
	SelectConfiguration(ctx context.Context, value uint8) error
	// Configuration returns the current bConfigurationValue (0 when unconfigured).
	Configuration() uint8
	ClaimInterface(ctx context.Context, iface uint8) error
	ReleaseInterface(ctx context.Context, iface uint8) error
	SelectAlternate(ctx context.Context, iface, alt uint8) error

	// ControlIn runs a control transfer with an IN data stage of len(buf) bytes (wLength) and
	// returns how many bytes the device sent.
	ControlIn(ctx context.Context, s Setup, buf []byte) (int, Status, error)
	// ControlOut runs a control transfer with data as its OUT data stage (wLength = len(data)).
	ControlOut(ctx context.Context, s Setup, data []byte) (Status, error)
	// TransferIn runs one bulk or interrupt IN transfer of up to len(buf) bytes.
	TransferIn(ctx context.Context, ep uint8, buf []byte) (int, Status, error)
	// TransferOut runs one bulk or interrupt OUT transfer. A zero-length data slice sends a ZLP.
	TransferOut(ctx context.Context, ep uint8, data []byte) (int, Status, error)
	// ClearHalt clears a stalled endpoint.
	ClearHalt(ctx context.Context, ep uint8) error

	// Disconnected is closed when the device goes away (unplug, USBConnectionEvent "disconnect").
	Disconnected() <-chan struct{}
}

// SubmitPacer is implemented by a transport whose bulk-IN submissions must sometimes wait (the
// page shares the browser's one thread between receiving and drawing). The core calls
// WaitSubmit before a receive slot draws its ticket, never between the ticket and TransferIn: a
// wait there would let transfers with later tickets reach the device's queue first, and the
// completions, handed on in ticket order, would wait for one another forever. WaitSubmit returns
// an error only when ctx is done.
type SubmitPacer interface {
	WaitSubmit(ctx context.Context) error
}

// QueuedIn is implemented by a transport that can say when a bulk-IN call takes its place in the
// endpoint's queue. TransferInQueued is TransferIn, and runs queued exactly once from inside the
// call: when the transfer enters the queue, before it can take any data (or before a refusal
// returns). The core draws its ordering ticket there, so ticket order is queue order even when
// several calls race into the transport, as they do natively.
type QueuedIn interface {
	TransferInQueued(ctx context.Context, ep uint8, buf []byte, queued func()) (int, Status, error)
}

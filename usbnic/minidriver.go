package usbnic

import "context"

// Minidriver is one chip driver bound to one device: the hooks of Linux usbnet's struct
// driver_info. A minidriver is created per device (Driver.New), so per-device state such as a
// frame split across RX transfers or an NTB being built lives in the minidriver value.
//
// The core calls the hooks one at a time, except RxFixup, TxAppend/TxFinish and Status, which run on
// the datapath goroutines: a minidriver keeps RX state and TX state apart so those may overlap.
type Minidriver interface {
	// Bind finds the endpoints, claims interfaces, reads the MAC and initialises the hardware
	// (usbnet bind). It fills d.In, d.Out, d.Intr, d.MAC, d.PermanentMAC, d.RxBufferSize,
	// d.HardMTU and d.TxMaxTransfer. A failure aborts the bring-up.
	Bind(ctx context.Context, d *Device) error
	// Unbind undoes Bind as far as the device still answers; it cannot fail.
	Unbind(ctx context.Context, d *Device)
	// Reset puts the device in a known state; called when the adapter is initialised.
	Reset(ctx context.Context, d *Device) error
	// Stop disables the receiver; called when the adapter is paused or halted.
	Stop(ctx context.Context, d *Device) error
	// LinkReset reprograms speed-dependent settings after the link came up and records the
	// result in d.Link (usbnet link_reset). It may change d.RxBufferSize.
	LinkReset(ctx context.Context, d *Device) error
	// Status parses one completed interrupt-IN transfer (usbnet status).
	Status(d *Device, data []byte) (StatusEvent, error)
	// RxFixup splits one completed bulk-IN transfer into Ethernet frames and hands each to sink
	// (usbnet rx_fixup). Frames handed over before an error stay delivered. The error says what
	// was wrong and where; the core counts it as an input error.
	RxFixup(d *Device, transfer []byte, sink FrameSink) error
	// TxAppend frames one outgoing Ethernet frame into the transfer being built in buf[:used]
	// and returns the new used length. flush reports that the transfer must be sent now (always
	// true for drivers that send one frame per transfer). ErrTxFull means the frame does not fit
	// behind what is already there: the core sends the transfer and calls again with used = 0.
	TxAppend(d *Device, buf []byte, used int, frame []byte) (n int, flush bool, err error)
	// TxFinish completes the transfer in buf[:used] (headers that need the final length,
	// padding, the short-packet rule) and returns the bytes to send and whether a zero-length
	// packet must follow.
	TxFinish(d *Device, buf []byte, used int) (n int, zlp bool)
	// SetRxMode programs the receive filter: NDIS packet filter bits (ndis.Filter*) and the
	// multicast list (usbnet set_rx_mode).
	SetRxMode(ctx context.Context, d *Device, packetFilter uint32, multicast [][6]byte) error
}

// FrameSink receives the frames a minidriver's RxFixup finds. The slice is valid only during
// the call: the core copies it into an NBL's data buffer.
type FrameSink interface {
	Frame(frame []byte)
}

// StatusEvent is what an interrupt transfer said. Fields are meaningful only when their Has*
// flag is set: CDC sends link and speed in separate notifications.
type StatusEvent struct {
	HasLink bool
	LinkUp  bool
	// NeedReset asks the core to run LinkReset when the link comes up (AX88179).
	NeedReset bool
	HasSpeed  bool
	RxSpeed   uint64 // bits per second, device to host
	TxSpeed   uint64 // bits per second, host to device
}

// LinkState is the adapter's view of the Ethernet link.
type LinkState struct {
	Up         bool
	Speed      uint64 // bits per second; 0 when unknown
	FullDuplex bool
}

// Device is the usbnet-like state a minidriver works on: the transport, what the descriptors
// said, the endpoints bind chose, and the link. The core owns it; minidrivers fill their parts.
type Device struct {
	T       Transport
	Desc    DeviceDesc
	Config  *Config // the active configuration
	Speed   Speed   // bus speed (from the transport, or inferred from wMaxPacketSize)
	In      Endpoint
	Out     Endpoint
	Intr    Endpoint // Address 0 when the device has no status endpoint
	HasIntr bool

	MAC          [6]byte
	PermanentMAC [6]byte

	// RxBufferSize is the size of each bulk-IN transfer (usbnet rx_urb_size).
	RxBufferSize int
	// HardMTU is the largest Ethernet frame without FCS the device carries (usbnet hard_mtu).
	HardMTU int
	// TxMaxTransfer is the largest bulk-OUT transfer the driver builds.
	TxMaxTransfer int
	// RxQueue, when nonzero, is the driver's preferred number of bulk-IN transfers in flight.
	RxQueue int

	Link LinkState

	// Logf records what the driver decided (configuration chosen, chip revision, ...), for the
	// page's adapter bar and for tests. Never nil while a hook runs.
	Logf func(format string, args ...any)
}

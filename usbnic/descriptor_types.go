package usbnic

// DeviceDesc is a parsed USB device descriptor.
type DeviceDesc struct {
	BcdUSB            uint16
	Class             uint8
	Subclass          uint8
	Protocol          uint8
	MaxPacketSize0    uint8
	VendorID          uint16
	ProductID         uint16
	BcdDevice         uint16
	IManufacturer     uint8
	IProduct          uint8
	ISerial           uint8
	NumConfigurations uint8
}

// Config is a parsed configuration descriptor with everything that follows it.
type Config struct {
	Value      uint8 // bConfigurationValue
	IConfig    uint8
	Attributes uint8
	MaxPower   uint8
	Interfaces []Interface
	IADs       []IAD
}

// IAD is an interface association descriptor: one function made of several interfaces (CDC).
type IAD struct {
	FirstInterface uint8
	InterfaceCount uint8
	Class          uint8
	Subclass       uint8
	Protocol       uint8
	IFunction      uint8
}

// Interface is one interface number with all of its alternate settings.
type Interface struct {
	Number     uint8
	Alternates []AltSetting
}

// AltSetting is one interface descriptor (one bAlternateSetting) and what belongs to it.
type AltSetting struct {
	Number     uint8
	Alternate  uint8
	Class      uint8
	Subclass   uint8
	Protocol   uint8
	IInterface uint8
	Endpoints  []Endpoint
	CDC        CDC
}

// Endpoint types (bmAttributes bits 0..1).
const (
	EndpointControl     = 0
	EndpointIsochronous = 1
	EndpointBulk        = 2
	EndpointInterrupt   = 3
)

// Endpoint is a parsed endpoint descriptor.
type Endpoint struct {
	Address       uint8 // with the direction bit 0x80 for IN
	Attributes    uint8
	MaxPacketSize uint16 // bits 0..10 of wMaxPacketSize
	Interval      uint8
}

// In reports whether the endpoint is an IN (device-to-host) endpoint.
func (e Endpoint) In() bool { return e.Address&0x80 != 0 }

// Type returns the transfer type (EndpointBulk, EndpointInterrupt, ...).
func (e Endpoint) Type() uint8 { return e.Attributes & 3 }

// CDC holds the class-specific functional descriptors found on a CDC communication interface.
// A field is nil when the descriptor was absent.
type CDC struct {
	Header   *CDCHeader
	Union    *CDCUnion
	Ethernet *CDCEthernet
	NCM      *CDCNCM
}

// CDCHeader is the CDC Header functional descriptor (subtype 0x00).
type CDCHeader struct{ BcdCDC uint16 }

// CDCUnion is the CDC Union functional descriptor (subtype 0x06).
type CDCUnion struct {
	Master uint8   // bControlInterface
	Slaves []uint8 // bSubordinateInterface0..
}

// CDCEthernet is the CDC Ethernet Networking functional descriptor (subtype 0x0F).
type CDCEthernet struct {
	IMACAddress        uint8
	EthernetStatistics uint32
	MaxSegmentSize     uint16
	NumberMCFilters    uint16
	NumberPowerFilters uint8
}

// CDCNCM is the NCM functional descriptor (subtype 0x1A).
type CDCNCM struct {
	BcdNCMVersion       uint16
	NetworkCapabilities uint8
}

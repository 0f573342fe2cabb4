package ffs

import (
	"encoding/binary"
	"fmt"

	"webminiport/usbnic"
)

// EventType is what happened, as enum usb_functionfs_event_type numbers it.
type EventType uint8

// Events. The first seven are FunctionFS's, numbered as it numbers them; GadgetFS's CONNECT
// and DISCONNECT follow (its SETUP and SUSPEND are the same as FunctionFS's).
const (
	EventBind    EventType = 0 // the gadget was bound to a UDC
	EventUnbind  EventType = 1 // and unbound from it
	EventEnable  EventType = 2 // the host set a configuration (or alternate setting): endpoints run
	EventDisable EventType = 3 // the configuration went away (reset, disconnect, a new one)
	EventSetup   EventType = 4 // a control request for the function; its data stage follows on ep0
	EventSuspend EventType = 5
	EventResume  EventType = 6
	// EventConnect (GadgetFS): a host is there, at Event.Speed; its first request follows.
	EventConnect EventType = 7
	// EventDisconnect (GadgetFS): the host is gone; every endpoint transfer has ended.
	EventDisconnect EventType = 8
)

var eventNames = [...]string{"bind", "unbind", "enable", "disable", "setup", "suspend", "resume", "connect", "disconnect"}

func (t EventType) String() string {
	if int(t) < len(eventNames) {
		return eventNames[t]
	}
	return fmt.Sprintf("event(%d)", uint8(t))
}

// EventSize is sizeof(struct usb_functionfs_event): the 8-byte setup packet, the type and three
// bytes of padding; and sizeof(struct usb_gadgetfs_event): the union of the setup packet and the
// speed, then the type as a 32-bit enum. A read of ep0 returns whole events only.
const EventSize = 12

// maxEvents is how many events f_fs queues (ffs->ev.types has four slots), so one read of
// maxEvents*EventSize bytes takes all that are waiting.
const maxEvents = 4

// Setup is a setup packet as it arrived on the bus (after f_fs's rewriting of wIndex).
type Setup struct {
	RequestType uint8 // bmRequestType
	Request     uint8
	Value       uint16
	Index       uint16
	Length      uint16
}

// In reports whether the data stage goes to the host.
func (s Setup) In() bool { return s.RequestType&0x80 != 0 }

// Usbnic returns the setup packet as usbnic describes it (type, recipient, request, wValue,
// wIndex; the direction and length travel separately).
func (s Setup) Usbnic() usbnic.Setup {
	return usbnic.Setup{
		Type:      usbnic.RequestType(s.RequestType >> 5 & 0x03),
		Recipient: usbnic.Recipient(s.RequestType & 0x1F),
		Request:   s.Request,
		Value:     s.Value,
		Index:     s.Index,
	}
}

func (s Setup) String() string {
	return fmt.Sprintf("bmRequestType %#02x bRequest %#02x wValue %#04x wIndex %#04x wLength %d",
		s.RequestType, s.Request, s.Value, s.Index, s.Length)
}

// Event is one event; Setup is set for EventSetup only, Speed for EventConnect only.
type Event struct {
	Type  EventType
	Setup Setup
	Speed usbnic.Speed
}

// ParseEvents decodes the FunctionFS events one read of ep0 returned.
func ParseEvents(b []byte) ([]Event, error) {
	if len(b)%EventSize != 0 {
		return nil, fmt.Errorf("ffs: ep0 read of %d bytes is not a whole number of %d-byte events", len(b), EventSize)
	}
	evs := make([]Event, 0, len(b)/EventSize)
	for off := 0; off < len(b); off += EventSize {
		e := b[off : off+EventSize]
		t := EventType(e[8])
		if t > EventResume {
			return nil, fmt.Errorf("ffs: event at offset %d has unknown type %d", off, e[8])
		}
		ev := Event{Type: t}
		if t == EventSetup {
			ev.Setup = parseSetup(e)
		}
		evs = append(evs, ev)
	}
	return evs, nil
}

func parseSetup(e []byte) Setup {
	return Setup{
		RequestType: e[0],
		Request:     e[1],
		Value:       binary.LittleEndian.Uint16(e[2:]),
		Index:       binary.LittleEndian.Uint16(e[4:]),
		Length:      binary.LittleEndian.Uint16(e[6:]),
	}
}

// GadgetFS event types (enum usb_gadgetfs_event_type).
const (
	gadgetfsNOP        = 0
	gadgetfsConnect    = 1
	gadgetfsDisconnect = 2
	gadgetfsSetup      = 3
	gadgetfsSuspend    = 4
)

// Speeds in a GadgetFS CONNECT event (enum usb_device_speed).
var gadgetfsSpeeds = map[uint32]usbnic.Speed{1: usbnic.SpeedLow, 2: usbnic.SpeedFull, 3: usbnic.SpeedHigh, 5: usbnic.SpeedSuper, 6: usbnic.SpeedSuper}

// ParseGadgetFSEvents decodes the GadgetFS events one read of ep0 returned: the 8-byte union
// (the setup packet, or the speed as a 32-bit enum), then the type as a 32-bit enum, in the
// machine's byte order (little-endian here). NOP events are left out.
func ParseGadgetFSEvents(b []byte) ([]Event, error) {
	if len(b)%EventSize != 0 {
		return nil, fmt.Errorf("ffs: gadgetfs ep0 read of %d bytes is not a whole number of %d-byte events", len(b), EventSize)
	}
	evs := make([]Event, 0, len(b)/EventSize)
	for off := 0; off < len(b); off += EventSize {
		e := b[off : off+EventSize]
		var ev Event
		switch t := binary.LittleEndian.Uint32(e[8:]); t {
		case gadgetfsNOP:
			continue
		case gadgetfsConnect:
			ev.Type = EventConnect
			ev.Speed = gadgetfsSpeeds[binary.LittleEndian.Uint32(e)]
		case gadgetfsDisconnect:
			ev.Type = EventDisconnect
		case gadgetfsSetup:
			ev.Type, ev.Setup = EventSetup, parseSetup(e)
		case gadgetfsSuspend:
			ev.Type = EventSuspend
		default:
			return nil, fmt.Errorf("ffs: gadgetfs event at offset %d has unknown type %d", off, t)
		}
		evs = append(evs, ev)
	}
	return evs, nil
}

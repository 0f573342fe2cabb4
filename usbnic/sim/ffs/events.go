package ffs

import (
	"encoding/binary"
	"fmt"

	"webminiport/usbnic"
)

// EventType is what happened, as enum usb_functionfs_event_type numbers it.
type EventType uint8

// FunctionFS events.
const (
	EventBind    EventType = 0 // the gadget was bound to a UDC
	EventUnbind  EventType = 1 // and unbound from it
	EventEnable  EventType = 2 // the host set a configuration (or alternate setting): endpoints run
	EventDisable EventType = 3 // the configuration went away (reset, disconnect, a new one)
	EventSetup   EventType = 4 // a control request for the function; its data stage follows on ep0
	EventSuspend EventType = 5
	EventResume  EventType = 6
)

var eventNames = [...]string{"bind", "unbind", "enable", "disable", "setup", "suspend", "resume"}

func (t EventType) String() string {
	if int(t) < len(eventNames) {
		return eventNames[t]
	}
	return fmt.Sprintf("event(%d)", uint8(t))
}

// EventSize is sizeof(struct usb_functionfs_event): the 8-byte setup packet, the type and three
// bytes of padding. A read of ep0 returns whole events only.
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

// Event is one FunctionFS event; Setup is set for EventSetup only.
type Event struct {
	Type  EventType
	Setup Setup
}

// ParseEvents decodes the events one read of ep0 returned.
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
			ev.Setup = Setup{
				RequestType: e[0],
				Request:     e[1],
				Value:       binary.LittleEndian.Uint16(e[2:]),
				Index:       binary.LittleEndian.Uint16(e[4:]),
				Length:      binary.LittleEndian.Uint16(e[6:]),
			}
		}
		evs = append(evs, ev)
	}
	return evs, nil
}

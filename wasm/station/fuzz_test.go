package station

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"
)

// FuzzHandleFrame gives a bound station any frame from the network: it must not panic, and
// whatever it answers must be a well-formed frame from its own address.
func FuzzHandleFrame(f *testing.F) {
	f.Add(echoRequest())
	arp := []byte{
		0x02, 0, 0, 0, 0, 0x02, 0x02, 0x77, 0, 0, 0, 0x50, 0x08, 0x06,
		0, 1, 0x08, 0, 6, 4, 0, 1, 0x02, 0x77, 0, 0, 0, 0x50, 192, 168, 77, 80,
		0, 0, 0, 0, 0, 0, 192, 168, 77, 100,
	}
	f.Add(arp)
	f.Add([]byte{})
	f.Add(make([]byte, 14))
	f.Fuzz(func(t *testing.T, frame []byte) {
		var sent [][]byte
		st := New(Config{MAC: hostMAC, Seed: 1, Send: func(b []byte) error {
			sent = append(sent, append([]byte(nil), b...))
			return nil
		}})
		st.st.Phase = PhaseBound
		st.st.IP = netip.MustParseAddr("192.168.77.100")
		st.st.PrefixBits = 24
		st.st.Router = netip.MustParseAddr("192.168.77.1")
		st.xid = 0x01020304
		st.mu.Lock()
		st.handleLocked(time.Unix(0, 0), frame)
		st.mu.Unlock()
		for _, b := range sent {
			if len(b) < minFrameLen || [6]byte(b[6:12]) != hostMAC {
				t.Fatalf("answer of %d bytes from %x", len(b), b[6:12])
			}
			switch binary.BigEndian.Uint16(b[12:14]) {
			case etherTypeIPv4:
				ihl := int(b[14]&0x0f) * 4
				if checksum(b[14:14+ihl], 0) != 0 {
					t.Fatalf("answer with a bad IPv4 header checksum: % x", b)
				}
				if [4]byte(b[26:30]) != [4]byte{192, 168, 77, 100} {
					t.Fatalf("answer from IPv4 %v", b[26:30])
				}
			case etherTypeARP:
				if binary.BigEndian.Uint16(b[20:22]) != 2 || [4]byte(b[28:32]) != [4]byte{192, 168, 77, 100} {
					t.Fatalf("ARP answer that is not our reply: % x", b)
				}
			default:
				t.Fatalf("answer of EtherType %#04x", binary.BigEndian.Uint16(b[12:14]))
			}
		}
	})
}

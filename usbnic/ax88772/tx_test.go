package ax88772

import (
	"bytes"
	"errors"
	"testing"

	"webminiport/usbnic"
)

func outDevice(maxPacket uint16) *usbnic.Device {
	return &usbnic.Device{Out: usbnic.Endpoint{Address: 0x03, Attributes: usbnic.EndpointBulk, MaxPacketSize: maxPacket}}
}

// fill returns an n-byte frame: frameY's Ethernet header, then a counting payload.
func fill(n int) []byte {
	f := append([]byte(nil), frameY[:14]...)
	for i := 14; i < n; i++ {
		f = append(f, byte(i))
	}
	return f
}

func TestTxHeaderAndPadRule(t *testing.T) {
	for _, tc := range []struct {
		name      string
		maxPacket uint16
		frame     []byte
		header    []byte // L | (L ^ 0xFFFF) << 16, LE
		pad       bool   // 00 00 FF FF after a whole number of packets
	}{
		{"small frame", 512, frameY, []byte{0x12, 0x00, 0xed, 0xff}, false},
		{"508 bytes fill one 512-byte packet", 512, fill(508), []byte{0xfc, 0x01, 0x03, 0xfe}, true},
		{"509 bytes do not", 512, fill(509), []byte{0xfd, 0x01, 0x02, 0xfe}, false},
		{"1020 bytes fill two 512-byte packets", 512, fill(1020), []byte{0xfc, 0x03, 0x03, 0xfc}, true},
		{"508 bytes are half a 1024-byte packet", 1024, fill(508), []byte{0xfc, 0x01, 0x03, 0xfe}, false},
		{"1020 bytes fill one 1024-byte packet", 1024, fill(1020), []byte{0xfc, 0x03, 0x03, 0xfc}, true},
		{"60 bytes fill a full-speed packet", 64, fill(60), []byte{0x3c, 0x00, 0xc3, 0xff}, true},
		{"1514 bytes", 512, fill(1514), []byte{0xea, 0x05, 0x15, 0xfa}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := outDevice(tc.maxPacket)
			buf := make([]byte, 1522)
			m := New()
			n, flush, err := m.TxAppend(d, buf, 0, tc.frame)
			if err != nil || !flush || n != 4+len(tc.frame) {
				t.Fatalf("TxAppend = %d, %v, %v", n, flush, err)
			}
			n, zlp := m.TxFinish(d, buf, n)
			want := append(append([]byte(nil), tc.header...), tc.frame...)
			if tc.pad {
				want = append(want, 0x00, 0x00, 0xff, 0xff)
			}
			if zlp || !bytes.Equal(buf[:n], want) {
				t.Fatalf("transfer (zlp %v):\n got % x\nwant % x", zlp, buf[:n], want)
			}
		})
	}
}

func TestTxOneFramePerTransfer(t *testing.T) {
	d := outDevice(512)
	buf := make([]byte, 1522)
	n, _, _ := New().TxAppend(d, buf, 0, frameY)
	if _, _, err := New().TxAppend(d, buf, n, frameX); !errors.Is(err, usbnic.ErrTxFull) {
		t.Fatalf("second frame: %v, want ErrTxFull", err)
	}
}

func TestTxRejectsWhatCannotBeFramed(t *testing.T) {
	for _, tc := range []struct {
		name      string
		maxPacket uint16
		buf       int
		frame     []byte
	}{
		{"no room for the frame", 512, 20, frameY},
		{"no room for the pad", 512, 514, fill(508)},
		{"empty frame", 512, 1522, nil},
		{"longer than the 16-bit length", 512, 0x10010, make([]byte, 0x10000)},
		{"endpoint without packets", 0, 1522, frameY},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, _, err := New().TxAppend(outDevice(tc.maxPacket), make([]byte, tc.buf), 0, tc.frame)
			if err == nil || errors.Is(err, usbnic.ErrTxFull) || n != 0 {
				t.Fatalf("n %d err %v", n, err)
			}
			t.Log(err)
		})
	}
}

func TestTxFinishFallsBackToZLPWithoutRoom(t *testing.T) {
	if n, zlp := New().TxFinish(outDevice(512), make([]byte, 514), 512); n != 512 || !zlp {
		t.Fatalf("n %d zlp %v", n, zlp)
	}
}

func TestDatapathAllocatesNothing(t *testing.T) {
	m := New()
	d := outDevice(512)
	buf := make([]byte, 1522)
	frame := fill(508)
	status := []byte{0, 0, 1, 0, 0, 0, 0, 0}
	var c count
	stream := stream(frameX, frameY, fill(1514))
	allocs := testing.AllocsPerRun(100, func() {
		n, _, err := m.TxAppend(d, buf, 0, frame)
		if err != nil {
			t.Fatal(err)
		}
		m.TxFinish(d, buf, n)
		m.Status(d, status)
		status[2] ^= 1
		// The RX stream, split mid-frame so that reassembly runs too.
		if err := m.RxFixup(d, stream[:100], &c); err != nil {
			t.Fatal(err)
		}
		if err := m.RxFixup(d, stream[100:], &c); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per frame", allocs)
	}
}

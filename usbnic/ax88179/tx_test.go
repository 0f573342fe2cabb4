package ax88179

import (
	"bytes"
	"errors"
	"testing"

	"webminiport/usbnic"
)

func outDevice(maxPacket uint16) *usbnic.Device {
	return &usbnic.Device{Out: usbnic.Endpoint{Address: 0x02, Attributes: usbnic.EndpointBulk, MaxPacketSize: maxPacket}}
}

// fill returns an n-byte frame: frameA's Ethernet header, then a counting payload.
func fill(n int) []byte {
	f := append([]byte(nil), frameA[:14]...)
	for i := 14; i < n; i++ {
		f = append(f, byte(i))
	}
	return f
}

func TestTxHeaderAndPadding(t *testing.T) {
	for _, tc := range []struct {
		name      string
		maxPacket uint16
		frame     []byte
		header    []byte // the 8 bytes §1.9 prescribes
		zeroByte  bool   // usbnet's extra byte after a whole number of packets
	}{
		{"small frame", 512, frameA, []byte{0x12, 0, 0, 0, 0, 0, 0, 0}, false},
		{"504 bytes fill one 512-byte packet", 512, fill(504), []byte{0xf8, 0x01, 0, 0, 0x00, 0x80, 0x00, 0x80}, true},
		{"505 bytes do not", 512, fill(505), []byte{0xf9, 0x01, 0, 0, 0, 0, 0, 0}, false},
		{"1016 bytes fill two 512-byte packets", 512, fill(1016), []byte{0xf8, 0x03, 0, 0, 0x00, 0x80, 0x00, 0x80}, true},
		{"504 bytes are half a 1024-byte packet", 1024, fill(504), []byte{0xf8, 0x01, 0, 0, 0, 0, 0, 0}, false},
		{"1016 bytes fill one 1024-byte packet", 1024, fill(1016), []byte{0xf8, 0x03, 0, 0, 0x00, 0x80, 0x00, 0x80}, true},
		{"1514 bytes on SuperSpeed", 1024, fill(1514), []byte{0xea, 0x05, 0, 0, 0, 0, 0, 0}, false},
		{"56 bytes fill a full-speed packet", 64, fill(56), []byte{0x38, 0, 0, 0, 0x00, 0x80, 0x00, 0x80}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := outDevice(tc.maxPacket)
			buf := make([]byte, 8+1514+1)
			m := New()
			n, flush, err := m.TxAppend(d, buf, 0, tc.frame)
			if err != nil || !flush || n != 8+len(tc.frame) {
				t.Fatalf("TxAppend = %d, %v, %v", n, flush, err)
			}
			n, zlp := m.TxFinish(d, buf, n)
			want := append(append([]byte(nil), tc.header...), tc.frame...)
			if tc.zeroByte {
				want = append(want, 0x00)
			}
			if zlp || !bytes.Equal(buf[:n], want) {
				t.Fatalf("transfer (zlp %v):\n got % x\nwant % x", zlp, buf[:n], want)
			}
		})
	}
}

func TestTxOneFramePerTransfer(t *testing.T) {
	d := outDevice(512)
	buf := make([]byte, 1523)
	n, _, _ := New().TxAppend(d, buf, 0, frameA)
	if _, _, err := New().TxAppend(d, buf, n, frameB); !errors.Is(err, usbnic.ErrTxFull) {
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
		{"no room for the frame", 512, 20, frameA},
		{"no room for the padding byte", 512, 512, fill(504)},
		{"empty frame", 512, 1523, nil},
		{"endpoint without packets", 0, 1523, frameA},
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
	buf := make([]byte, 512)
	if n, zlp := New().TxFinish(outDevice(512), buf, 512); n != 512 || !zlp {
		t.Fatalf("n %d zlp %v", n, zlp)
	}
}

func TestDatapathAllocatesNothing(t *testing.T) {
	m := New()
	d := outDevice(512)
	buf := make([]byte, 1523)
	frame := fill(504)
	status := []byte{0, 0, 1, 0, 0, 0, 0, 0}
	allocs := testing.AllocsPerRun(100, func() {
		n, _, err := m.TxAppend(d, buf, 0, frame)
		if err != nil {
			t.Fatal(err)
		}
		m.TxFinish(d, buf, n)
		m.Status(d, status)
		status[2] ^= 1
	})
	if allocs != 0 {
		t.Errorf("%v allocations per frame", allocs)
	}
}

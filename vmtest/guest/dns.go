//go:build linux

package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"time"
)

// The model network's DNS server (usbnic/sim/wire's defaults) and a name it knows.
const (
	wireDNS         = "192.168.77.53:53"
	wireDNSName     = "gateway.wire.test"
	wireDNSQueryID  = 0x7731
	dnsReplyTimeout = 5 * time.Second
)

// lookupGateway asks the model network's DNS server for wireDNSName's A record over UDP, through
// the VM's stack and the adapter: the query leaves with the checksum for the adapter to fill in
// when the driver offloads it (the wire drops datagrams whose checksum is wrong), and the answer
// comes back with the adapter's checksum verdict. It returns the address answered.
func lookupGateway(ctx context.Context) (string, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "udp4", wireDNS)
	if err != nil {
		return "", err
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(dnsReplyTimeout)); err != nil {
		return "", err
	}
	// RFC 1035: header (ID, flags RD, one question), QNAME as labels, QTYPE A, QCLASS IN.
	q := []byte{wireDNSQueryID >> 8, wireDNSQueryID & 0xff, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0}
	for _, label := range []string{"gateway", "wire", "test"} {
		q = append(append(q, byte(len(label))), label...)
	}
	q = append(q, 0, 0, 1, 0, 1)
	if _, err := c.Write(q); err != nil {
		return "", err
	}
	buf := make([]byte, 512)
	n, err := c.Read(buf)
	if err != nil {
		return "", fmt.Errorf("no answer from %s: %w", wireDNS, err)
	}
	a := buf[:n]
	// The answer repeats the question; its answer record ends with RDLENGTH 4 and the address.
	switch {
	case n < len(q)+16:
		return "", fmt.Errorf("%d-byte answer is too short", n)
	case binary.BigEndian.Uint16(a) != wireDNSQueryID || a[2]&0x80 == 0 || a[3]&0x0f != 0:
		return "", fmt.Errorf("answer % x is not a successful response to query %#04x", a[:4], wireDNSQueryID)
	case binary.BigEndian.Uint16(a[6:]) != 1:
		return "", fmt.Errorf("answer carries %d records, want 1", binary.BigEndian.Uint16(a[6:]))
	}
	return net.IP(a[n-4:]).String(), nil
}

//go:build linux

package main

import (
	"net"
	"strconv"
	"syscall"
	"testing"
)

// The burst's socket takes a receive buffer past rmem_max, and its diagnosis reads the kernel's
// ICMP counters and the socket's drops.
func TestICMPStatsAndRawSocketDrops(t *testing.T) {
	stats := readICMPStats()
	for _, name := range []string{"InEchoReps", "InErrors", "InCsumErrors"} {
		if _, ok := stats[name]; !ok {
			t.Errorf("/proc/net/snmp has no Icmp %s (got %v)", name, stats)
		}
	}
	c, err := net.ListenPacket("ip4:icmp", "0.0.0.0")
	if err != nil {
		t.Skipf("no raw ICMP socket here (needs CAP_NET_RAW): %v", err)
	}
	defer c.Close()
	if err := forceReadBuffer(c, burstReadBuffer); err != nil {
		t.Fatal(err)
	}
	var size int
	var serr error
	if err := withFD(c, func(fd int) { size, serr = syscall.GetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_RCVBUF) }); err != nil {
		t.Fatal(err)
	}
	if serr != nil || size < burstReadBuffer {
		t.Errorf("SO_RCVBUF %d (%v), want at least %d", size, serr, burstReadBuffer)
	}
	if d := rawSocketDrops(c); d == "unknown" {
		t.Error("the raw socket was not found in /proc/net/raw")
	} else if _, err := strconv.Atoi(d); err != nil {
		t.Errorf("drops %q is not a number", d)
	}
}

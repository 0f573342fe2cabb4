//go:build !js

package main

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// isLoopback reports whether a listen address (the -addr flag, "host:port"
// or a bare host) keeps the server on this machine, where the page's URL
// is a secure context. That is what Chrome counts as potentially
// trustworthy without https: 127.0.0.0/8, ::1 and the name localhost
// (with its subdomains). An empty host or 0.0.0.0 means every interface;
// any other name is not trusted by the browser whatever it resolves to.
func isLoopback(addr string) bool {
	host := listenHost(addr)
	if ip, err := netip.ParseAddr(host); err == nil {
		return ip.Unmap().IsLoopback()
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	return host == "localhost" || strings.HasSuffix(host, ".localhost")
}

// listenHost returns the host part of a listen address, without brackets.
func listenHost(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return strings.TrimSuffix(strings.TrimPrefix(addr, "["), "]")
}

// nonLoopbackWarning is printed when the server listens where other
// machines can reach it. It says why that does not give them WebUSB.
func nonLoopbackWarning(addr, dir string) string {
	return fmt.Sprintf(`
*****************************************************************************
WARNING: listening on %s, which is NOT a loopback address.
WebUSB (navigator.usb) only exists in a secure context: an https:// page,
or http://localhost / http://127.0.0.1 on the machine running the browser.
A browser that opens this server as http://<this machine's address>/ gets
no navigator.usb: pairing a USB adapter cannot work there, only the virtual
adapter runs. Every file in %s is also readable from the network.
For WebUSB, listen on 127.0.0.1 (the default) and browse on this machine,
or put an https proxy in front of the server.
*****************************************************************************
`, addr, dir)
}

// browserURL is the address to open in a browser for a server listening on
// the -addr flag's host and bound to port. A server on every interface is
// opened as localhost, which keeps it a secure context on this machine.
func browserURL(addr string, port int) string {
	host := listenHost(addr)
	if ip, err := netip.ParseAddr(host); host == "" || (err == nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(port)) + "/"
}

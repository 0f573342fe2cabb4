//go:build !js

package main

import (
	"strings"
	"testing"
)

func TestIsLoopback(t *testing.T) {
	tests := []struct {
		addr string
		want bool
	}{
		{"0.0.0.0", false},
		{"0.0.0.0:8080", false},
		{":8080", false},
		{"", false},
		{"192.168.1.2:80", false},
		{"10.0.0.1", false},
		{"[::]:80", false},
		{"[2001:db8::1]:80", false},
		{"example.com:80", false},
		{"localhost.example.com:80", false},
		{"[::1]:80", true},
		{"::1", true},
		{"[::ffff:127.0.0.1]:80", true},
		{"localhost:80", true},
		{"LOCALHOST:80", true},
		{"localhost.:80", true},
		{"app.localhost:80", true},
		{"127.0.0.1:8080", true},
		{"127.0.0.5:80", true},
		{"127.255.255.254:80", true},
	}
	for _, tc := range tests {
		if got := isLoopback(tc.addr); got != tc.want {
			t.Errorf("isLoopback(%q) = %v, want %v", tc.addr, got, tc.want)
		}
	}
}

func TestNonLoopbackWarningSaysWhy(t *testing.T) {
	for _, addr := range []string{"0.0.0.0", ":8080", "192.168.1.2:80"} {
		t.Run(addr, func(t *testing.T) {
			got := nonLoopbackWarning(addr, "/srv/web")
			for _, want := range []string{
				"WARNING", "listening on " + addr + ",", "NOT a loopback address",
				"secure context", "https://", "http://localhost", "http://127.0.0.1",
				"navigator.usb", "/srv/web",
			} {
				if !strings.Contains(got, want) {
					t.Errorf("warning lacks %q:\n%s", want, got)
				}
			}
		})
	}
}

func TestBrowserURL(t *testing.T) {
	tests := []struct {
		addr string
		port int
		want string
	}{
		{"127.0.0.1:0", 41234, "http://127.0.0.1:41234/"},
		{"127.0.0.5:80", 80, "http://127.0.0.5:80/"},
		{"localhost:8080", 8080, "http://localhost:8080/"},
		{"[::1]:80", 80, "http://[::1]:80/"},
		{":8080", 8080, "http://localhost:8080/"},
		{"0.0.0.0:8080", 8080, "http://localhost:8080/"},
		{"[::]:8080", 8080, "http://localhost:8080/"},
		{"192.168.1.2:80", 80, "http://192.168.1.2:80/"},
	}
	for _, tc := range tests {
		if got := browserURL(tc.addr, tc.port); got != tc.want {
			t.Errorf("browserURL(%q, %d) = %q, want %q", tc.addr, tc.port, got, tc.want)
		}
	}
}

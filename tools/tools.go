//go:build tools

// Package tools pins the versions of the programs that build.sh builds for the tests.
//
// wasmbrowsertest runs GOOS=js test binaries in headless Chromium. It is pinned together with a
// newer chromedp and cdproto than its own go.mod asks for, because the cdproto it pins cannot parse
// the events of current Chromium and prints "unknown IPAddressSpace value: Loopback" on every run.
package tools

import _ "github.com/agnivade/wasmbrowsertest"

//go:build linux

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// plumbingReply is what vmtestPlumbing.arp resolves to.
type plumbingReply struct {
	OK       bool     `json:"ok"`
	NCM      bool     `json:"ncm"`
	InBytes  int      `json:"inBytes"`
	OutBytes int      `json:"outBytes"`
	From     string   `json:"from"`
	Log      []string `json:"log"`
}

// plumbing checks the bench's own path with vmtest/plumbing, a test-only page that opens the
// gadget through WebUSB by hand and exchanges one ARP request and reply: the policy, getDevices,
// usbfs, dummy_hcd and the gadget function all have to work for it to pass.
func (e *variantEnv) plumbing(ctx context.Context) error {
	if err := e.br.navigate(ctx, e.origin+"/index.html"); err != nil {
		return stop("page", "%v", err)
	}
	before, err := readNetStats(e.g.ifname)
	if err != nil {
		return stop("statistics", "%v", err)
	}
	src := "192.168.77.99"
	expr := fmt.Sprintf("window.vmtestPlumbing.arp(%q, %q, %q)", e.v.HostMAC, src, gadgetIP)
	var rep plumbingReply
	if err := e.br.eval(ctx, expr, &rep); err != nil {
		return stop("ARP through WebUSB", "%v", err)
	}
	after, err := readNetStats(e.g.ifname)
	if err != nil {
		return stop("statistics", "%v", err)
	}
	b, _ := json.Marshal(rep)
	e.log.logf("%s: plumbing reply %s", e.v.Name, b)
	wantNCM := e.v.Function == "ncm"
	e.r.Add("function seen", rep.NCM == wantNCM, "page saw %s", map[bool]string{true: "NCM", false: "ECM"}[rep.NCM])
	e.r.Add("ARP reply", rep.OK && strings.EqualFold(rep.From, e.v.DevMAC),
		"from %s (want %s); %s", rep.From, e.v.DevMAC, strings.Join(rep.Log, "; "))
	rx, tx := after.RxPackets-before.RxPackets, after.TxPackets-before.TxPackets
	e.r.Add("gadget counters", rx == 1 && tx >= 1, "gadget rx_packets +%d (want 1), tx_packets +%d", rx, tx)
	e.r.FramesOut, e.r.FramesIn = 1, tx
	e.r.StatsDiff = fmt.Sprintf("gadget rx +%d tx +%d", rx, tx)

	// Hot plug: unbinding and binding the gadget must reach the page as disconnect and connect
	// events, which only udevd in the guest delivers.
	if err := e.g.unbind(); err != nil {
		return stop("unplug", "%v", err)
	}
	var ev struct{ Connect, Disconnect int }
	err = pollUntil(ctx, stepTimeout, func() (bool, error) {
		err := e.br.eval(ctx, "window.vmtestPlumbing.events()", &ev)
		return ev.Disconnect == 1, err
	})
	e.r.Add("disconnect event", err == nil, "%d disconnect events after unbinding", ev.Disconnect)
	if err := e.g.bind(); err != nil {
		return stop("replug", "%v", err)
	}
	err = pollUntil(ctx, stepTimeout, func() (bool, error) {
		err := e.br.eval(ctx, "window.vmtestPlumbing.events()", &ev)
		return ev.Connect == 1, err
	})
	e.r.Add("connect event", err == nil, "%d connect events after binding again", ev.Connect)
	e.r.Unplug = fmt.Sprintf("%d disconnect, %d connect events", ev.Disconnect, ev.Connect)
	return nil
}

//go:build linux

package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"webminiport/vmtest/internal/result"
)

// The page's API as the checks use it: window.webminiport, documented with the page.

// pageState is the part of window.webminiport.state() the checks read.
type pageState struct {
	Source  string `json:"source"`
	Adapter struct {
		Label       string   `json:"label"`
		State       string   `json:"state"`
		Initialized bool     `json:"initialized"`
		Driver      string   `json:"driver"`
		VIDPID      string   `json:"vidpid"`
		MAC         string   `json:"mac"`
		Link        string   `json:"link"`
		BusSpeed    string   `json:"busSpeed"`
		Removed     bool     `json:"removed"`
		Error       string   `json:"error"`
		Log         []string `json:"log"`
	} `json:"adapter"`
	Pools []struct {
		Name      string         `json:"name"`
		Capacity  int            `json:"capacity"`
		Allocated int            `json:"allocated"`
		Free      int            `json:"free"`
		Misuses   uint64         `json:"misuses"`
		Owners    map[string]int `json:"owners"`
	} `json:"pools"`
	Stats struct {
		InOctets, OutOctets                              uint64
		InUcastPkts, InMulticastPkts, InBroadcastPkts    uint64
		OutUcastPkts, OutMulticastPkts, OutBroadcastPkts uint64
		InDiscards, InErrors, OutErrors, OutDiscards     uint64
		RxNoBuffer                                       uint64
	} `json:"statistics"`
	USB struct {
		RxQueue, RxInFlight                                                    int
		RxSessions, RxCancelled, RxEmpty, RxStalls, RxBabbles, IntrTransfers   uint64
		RxTransfers, RxFrames, RxBytes, TxTransfers, TxFrames, TxBytes, TxZLPs uint64
		RxErrors, RxFixupErrors, RxFrameErrors, TxErrors                       uint64
		TxDropped                                                              uint64
	} `json:"usb"`
	Pending struct {
		Total   int `json:"total"`
		Pending int `json:"pending"`
	} `json:"pending"`
	Reports []struct {
		Class   string `json:"class"`
		Message string `json:"message"`
	} `json:"reports"`
	Station struct {
		DHCP        string `json:"dhcp"`
		Address     string `json:"address"`
		PingsSent   uint64 `json:"pingsSent"`
		PingReplies uint64 `json:"pingReplies"`
	} `json:"station"`
}

// inFrames and outFrames are the adapter's interface counters, all destination kinds.
func (s *pageState) inFrames() uint64 {
	return s.Stats.InUcastPkts + s.Stats.InMulticastPkts + s.Stats.InBroadcastPkts
}

func (s *pageState) outFrames() uint64 {
	return s.Stats.OutUcastPkts + s.Stats.OutMulticastPkts + s.Stats.OutBroadcastPkts
}

// frameRow is one row of window.webminiport.frames(n).
type frameRow struct {
	Number      uint64  `json:"number"`
	Time        float64 `json:"time"`
	Length      int     `json:"length"`
	Protocol    string  `json:"protocol"`
	Source      string  `json:"source"`
	Destination string  `json:"destination"`
	Info        string  `json:"info"`
}

// evalTimeout bounds one call into the page. Every call of the checks returns at once when
// the page works (the slow ones return promises that settle within it), so a call that takes
// longer means that the page's thread no longer runs: the variant then stops at once, instead
// of each later step waiting out its own timeout.
const evalTimeout = 90 * time.Second

// errNoAnswer is what a call returns when the page did not answer within evalTimeout.
var errNoAnswer = errors.New("the page did not answer within " + evalTimeout.String())

// errCrashed is what a call returns when the page's renderer crashed while it waited.
var errCrashed = errors.New("the page's renderer crashed")

// pageGone reports whether err says that the page no longer answers, so that waiting longer
// or calling again is pointless.
func pageGone(err error) bool { return errors.Is(err, errNoAnswer) || errors.Is(err, errCrashed) }

// call evaluates expr in the page like browser.eval, bounded by evalTimeout, and ends at once
// when the renderer crashes. Once the page is gone, every later call fails at once.
func (e *variantEnv) call(ctx context.Context, expr string, res any) error {
	head, _, _ := strings.Cut(strings.TrimSpace(expr), "\n")
	if e.gone != nil {
		return fmt.Errorf("%w: %.80s", e.gone, head)
	}
	crash := e.br.nextCrash()
	cctx, cancel := context.WithTimeoutCause(ctx, evalTimeout, errNoAnswer)
	defer cancel()
	cctx, cancelCrash := context.WithCancelCause(cctx)
	defer cancelCrash(nil)
	go func() {
		select {
		case <-crash:
			cancelCrash(errCrashed)
		case <-cctx.Done():
		}
	}()
	err := e.br.eval(cctx, expr, res)
	if err != nil && cctx.Err() != nil && ctx.Err() == nil {
		e.gone = context.Cause(cctx)
		return fmt.Errorf("%w: %.80s", e.gone, head)
	}
	return err
}

// asValue makes a JSON string or a plain object from the API into a plain value for the
// DevTools protocol to return.
const asValue = `(v => typeof v === "string" ? JSON.parse(v) : v)`

func (e *variantEnv) hasAPI(ctx context.Context) (bool, error) {
	var ok bool
	err := e.call(ctx, `typeof window.webminiport === "object" && typeof window.webminiport.state === "function"`, &ok)
	return ok, err
}

func (e *variantEnv) state(ctx context.Context) (*pageState, error) {
	var s pageState
	if err := e.call(ctx, asValue+`(window.webminiport.state())`, &s); err != nil {
		return nil, fmt.Errorf("webminiport.state(): %w", err)
	}
	return &s, nil
}

func (e *variantEnv) frames(ctx context.Context, n int) ([]frameRow, error) {
	var rows []frameRow
	if err := e.call(ctx, fmt.Sprintf(asValue+`(window.webminiport.frames(%d))`, n), &rows); err != nil {
		return nil, fmt.Errorf("webminiport.frames(%d): %w", n, err)
	}
	return rows, nil
}

// send calls window.webminiport.send(kind, opts) and awaits it when it returns a promise.
func (e *variantEnv) send(ctx context.Context, kind string, opts map[string]any) error {
	b, err := json.Marshal(opts)
	if err != nil {
		return err
	}
	expr := fmt.Sprintf(`Promise.resolve(window.webminiport.send(%q, %s)).then(() => true)`, kind, b)
	var ok bool
	if err := e.call(ctx, expr, &ok); err != nil {
		return fmt.Errorf("webminiport.send(%q, %s): %w", kind, b, err)
	}
	return nil
}

// exportPcap returns the bytes of window.webminiport.exportPcap("pcap"), carried as base64.
func (e *variantEnv) exportPcap(ctx context.Context) ([]byte, error) {
	const expr = `window.webminiport.exportPcap("pcap").then(u => {
		let s = "";
		for (let i = 0; i < u.length; i += 0x8000) s += String.fromCharCode.apply(null, u.subarray(i, i + 0x8000));
		return btoa(s);
	})`
	var b64 string
	if err := e.call(ctx, expr, &b64); err != nil {
		return nil, fmt.Errorf("webminiport.exportPcap(\"pcap\"): %w", err)
	}
	return base64.StdEncoding.DecodeString(b64)
}

// waitState polls state() every half second until cond holds or d passes; it returns the last
// state seen either way, with an error on timeout.
func (e *variantEnv) waitState(ctx context.Context, d time.Duration, cond func(*pageState) bool) (*pageState, error) {
	deadline := time.Now().Add(d)
	for {
		s, err := e.state(ctx)
		if err == nil && cond(s) {
			return s, nil
		}
		if pageGone(err) {
			return s, err
		}
		if time.Now().After(deadline) {
			if err != nil {
				return s, err
			}
			return s, fmt.Errorf("not within %v", d)
		}
		select {
		case <-ctx.Done():
			return s, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// saveDebug writes what the page knows — its whole state() and the newest frames — into
// debug-<variant>.json in the run folder, for a variant that failed. It gives up after a few
// seconds, also when the variant's context has ended: a report is wanted all the same.
func (e *variantEnv) saveDebug() {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var dump struct {
		State  json.RawMessage `json:"state"`
		Frames json.RawMessage `json:"frames"`
	}
	var raw string
	err := e.br.eval(ctx, `JSON.stringify({state: window.webminiport.state(), frames: window.webminiport.frames(300)})`, &raw)
	if err == nil {
		err = json.Unmarshal([]byte(raw), &dump)
	}
	path := filepath.Join(e.runDir, "debug-"+e.v.Name+".json")
	if err != nil {
		e.log.logf("%s: no debug dump: %v", e.v.Name, err)
		e.reportHang()
		return
	}
	if err := result.WriteJSON(path, dump); err != nil {
		e.log.logf("%s: no debug dump: %v", e.v.Name, err)
	}
}

// reportHang records where a page that stopped answering is stuck, as a failed check: the
// innermost frames of its JavaScript and WebAssembly stack.
func (e *variantEnv) reportHang() {
	e.r.Add("page hung", false, "the page does not answer: %s", e.hangStack())
}

// hangStack says where a page that does not answer is stuck: the innermost frames of its stack
// when the debugger could pause it, or why it could not.
func (e *variantEnv) hangStack() string {
	if errors.Is(e.gone, errCrashed) {
		return "its renderer crashed; its core dump, if the kernel wrote one, is in " + filepath.Join(e.runDir, "cores")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stack, err := e.br.pausedStack(ctx)
	if err != nil {
		return "it could not be paused: " + err.Error()
	}
	return "paused in " + strings.Join(stack[:min(len(stack), 12)], " < ")
}

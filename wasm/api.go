//go:build js && wasm

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"syscall/js"

	"webminiport/wasm/session"
)

// installAPI publishes window.webminiport, the console and test API (README.md, "Console API"):
//
//	state()                   a JSON-serialisable snapshot of adapter, pools and counters
//	frames(n)                 the newest n frames (number, time, length, protocol, info, ...)
//	loadPcap(Uint8Array)      replay a pcap/pcapng through the virtual adapter → Promise<number>
//	exportPcap(format)        "pcap" or "pcapng" → Promise<Uint8Array>
//	send(kind, opts)          "arp" | "ping" | "dhcp", opts {target, size, count} → Promise
//	setVirtual(model, profile) switch to a virtual adapter and traffic profile → Promise
//
// Synchronous calls only read what never waits (session.Sample and friends); everything that
// may take time returns a Promise and runs on a goroutine.
func (p *page) installAPI() {
	api := js.Global().Get("Object").New()
	api.Set("state", js.FuncOf(func(js.Value, []js.Value) any {
		return jsonValue(p.s.State())
	}))
	api.Set("frames", js.FuncOf(func(_ js.Value, args []js.Value) any {
		n := 100
		if len(args) > 0 && args[0].Type() == js.TypeNumber {
			n = args[0].Int()
		}
		rows, _ := p.s.Frames(n, false)
		if rows == nil {
			rows = []session.FrameRow{}
		}
		return jsonValue(rows)
	}))
	api.Set("loadPcap", js.FuncOf(func(_ js.Value, args []js.Value) any {
		// The bytes are copied now: the caller may reuse its array once the call returns.
		b, err := bytesArg(args, 0)
		return promise(func() (any, error) {
			if err != nil {
				return nil, err
			}
			n, err := p.s.Replay(context.Background(), b)
			return n, err
		})
	}))
	api.Set("exportPcap", js.FuncOf(func(_ js.Value, args []js.Value) any {
		format := "pcapng"
		if len(args) > 0 && args[0].Type() == js.TypeString {
			format = args[0].String()
		}
		return promise(func() (any, error) {
			b, err := p.s.Export(format)
			if err != nil {
				return nil, err
			}
			u8 := js.Global().Get("Uint8Array").New(len(b))
			js.CopyBytesToJS(u8, b)
			return u8, nil
		})
	}))
	api.Set("send", js.FuncOf(func(_ js.Value, args []js.Value) any {
		kind := ""
		if len(args) > 0 && args[0].Type() == js.TypeString {
			kind = args[0].String()
		}
		o, err := sendOptions(args)
		return promise(func() (any, error) {
			if err != nil {
				return nil, err
			}
			return nil, p.s.Send(kind, o)
		})
	}))
	api.Set("setVirtual", js.FuncOf(func(_ js.Value, args []js.Value) any {
		model, profile := "AX88179", "idle"
		if len(args) > 0 && args[0].Type() == js.TypeString {
			model = args[0].String()
		}
		if len(args) > 1 && args[1].Type() == js.TypeString {
			profile = args[1].String()
		}
		return promise(func() (any, error) {
			return nil, p.s.StartVirtual(context.Background(), model, profile)
		})
	}))
	js.Global().Set("webminiport", api)
}

// jsonValue turns a Go value into the JavaScript value JSON.parse makes of its JSON.
func jsonValue(v any) js.Value {
	b, err := json.Marshal(v)
	if err != nil {
		return js.Global().Get("Error").New("webminiport: " + err.Error())
	}
	return js.Global().Get("JSON").Call("parse", string(b))
}

// promise runs fn on a goroutine and settles a Promise with its result: a rejection carries an
// Error with the message.
func promise(fn func() (any, error)) js.Value {
	var executor js.Func
	executor = js.FuncOf(func(_ js.Value, args []js.Value) any {
		resolve, reject := args[0], args[1]
		go func() {
			v, err := fn()
			if err != nil {
				reject.Invoke(js.Global().Get("Error").New(err.Error()))
				return
			}
			resolve.Invoke(v)
		}()
		return nil
	})
	defer executor.Release()
	return js.Global().Get("Promise").New(executor)
}

// bytesArg copies a Uint8Array (or ArrayBuffer) argument into Go.
func bytesArg(args []js.Value, i int) ([]byte, error) {
	if len(args) <= i {
		return nil, errors.New("webminiport: missing the file bytes (a Uint8Array)")
	}
	v := args[i]
	if v.InstanceOf(js.Global().Get("ArrayBuffer")) {
		v = js.Global().Get("Uint8Array").New(v)
	}
	if !v.InstanceOf(js.Global().Get("Uint8Array")) {
		return nil, errors.New("webminiport: the file bytes must be a Uint8Array or an ArrayBuffer")
	}
	b := make([]byte, v.Length())
	js.CopyBytesToGo(b, v)
	return b, nil
}

// sendOptions reads {target, size, count} from the second argument of send.
func sendOptions(args []js.Value) (session.SendOptions, error) {
	var o session.SendOptions
	if len(args) < 2 || args[1].Type() != js.TypeObject {
		return o, nil
	}
	opts := args[1]
	if t := opts.Get("target"); t.Type() == js.TypeString {
		a, err := netip.ParseAddr(t.String())
		if err != nil {
			return o, fmt.Errorf("webminiport: send target %q: %v", t.String(), err)
		}
		o.Target = a
	}
	if v := opts.Get("size"); v.Type() == js.TypeNumber {
		o.Size = v.Int()
	}
	if v := opts.Get("count"); v.Type() == js.TypeNumber {
		o.Count = v.Int()
	}
	return o, nil
}

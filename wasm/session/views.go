package session

import (
	"bytes"
	"errors"
	"fmt"

	"webminiport/ndis"
	"webminiport/ndis/capture"
	"webminiport/pool"
	"webminiport/usbnic"
	"webminiport/wasm/station"
)

// Adapter describes the adapter for the adapter bar. It changes rarely; the page asks for it a
// few times a second.
type Adapter struct {
	Source  Source
	Label   string // model or USB product name
	Model   string // virtual model name
	Profile string // virtual traffic profile
	Replay  int    // frames of the capture being replayed
	State   ndis.State
	// Initialized is false before the first successful bring-up.
	Initialized bool
	Info        usbnic.Info
	Driver      string // the match table's driver and its reason
	Reason      string
	Station     station.State
	Err         string // the last bring-up or operation error, or the removal
	Settings    Settings
}

// Adapter returns the adapter's description. It never waits for a control operation or the
// device, so a JavaScript callback may call it; Info is at most a few hundred milliseconds old.
func (s *Session) Adapter() Adapter {
	v := s.view.Load()
	out := Adapter{Source: v.source, Label: v.label, Model: v.model, Profile: v.prof, Err: v.err,
		Settings: v.set, Replay: v.replay}
	if v.ad != nil {
		out.Initialized = true
		out.State = v.ad.NDIS.State()
		if in := s.info.Load(); in != nil && in.ad == v.ad {
			out.Info = in.info
		}
		out.Driver = v.ad.Choice.Driver.Name
		out.Reason = v.ad.Choice.Reason
	}
	if v.st != nil {
		out.Station = v.st.State()
	}
	return out
}

// NBLDetail is the page's `!ndiskd.nbl <h> -log`: the NBL and its NB, the frame it carries when
// its holder is not changing it, and its history from the tracking log.
type NBLDetail struct {
	View    ndis.NBLView
	Index   int
	Owner   string
	Frame   []byte // a copy of the frame, when the protocol holds the NBL; nil otherwise
	Summary string // the frame's protocol and info line
	History []ndis.LogEntry
}

// NBL describes the NBL in slot index of pool i of generation gen.
func (s *Session) NBL(gen uint64, i, index int) (NBLDetail, error) {
	v := s.view.Load()
	if v.gen != gen || i < 0 || i >= len(v.pools) || v.ad == nil {
		return NBLDetail{}, errors.New("session: the pool is gone (the adapter changed)")
	}
	p := v.pools[i].p
	if index < 0 || index >= p.Stats().Capacity {
		return NBLDetail{}, fmt.Errorf("session: pool %q has no slot %d", v.pools[i].v.Name, index)
	}
	h := p.HandleAt(index)
	if h == 0 {
		return NBLDetail{}, fmt.Errorf("session: slot %d of pool %q is free in the pool", index, v.pools[i].v.Name)
	}
	nv, err := v.ad.NDIS.NBL(h)
	if err != nil {
		return NBLDetail{}, err
	}
	d := NBLDetail{View: nv, Index: index, Owner: ndis.OwnerName(nv.Owner), History: v.ad.NDIS.NBLHistory(h)}
	// While the protocol holds a received NBL nobody writes its data (specs/ndis.md §3.2), so
	// the frame can be read; on a free list the buffer holds whatever came last and may be
	// being filled.
	if nv.Owner == ndis.OwnerProtocol && nv.FirstNB != 0 {
		d.Frame = bytes.Clone(p.Data(nv.FirstNB))
		d.Summary = s.summary(d.Frame)
	}
	return d, nil
}

// summary is "PROTOCOL info" for one frame.
func (s *Session) summary(frame []byte) string {
	s.decMu.Lock()
	defer s.decMu.Unlock()
	var sum capture.Summary
	s.dec.Summarize(frame, len(frame), &sum)
	return sum.Protocol.String() + " " + string(sum.Info())
}

// Pending returns !ndiskd.pendingnbls for the adapter (zero when there is none).
func (s *Session) Pending() ndis.PendingView {
	v := s.view.Load()
	if v.ad == nil {
		return ndis.PendingView{}
	}
	return v.ad.NDIS.PendingNBLs()
}

// Log returns the last n entries of the tracking log (!ndiskd.nbllog).
func (s *Session) Log(n int) []ndis.LogEntry {
	v := s.view.Load()
	if v.ad == nil {
		return nil
	}
	return v.ad.NDIS.NBLLog(n)
}

// Reports returns the kept misuse and watchdog reports, oldest first.
func (s *Session) Reports() []ndis.Report {
	v := s.view.Load()
	if v.ad == nil {
		return nil
	}
	return v.ad.NDIS.Reports()
}

// FrameRow is one row of window.webminiport.frames(n).
type FrameRow struct {
	Number      uint64  `json:"number"`
	Time        float64 `json:"time"` // seconds since the session started
	Length      int     `json:"length"`
	Captured    int     `json:"captured"`
	Protocol    string  `json:"protocol"`
	Source      string  `json:"source"`
	Destination string  `json:"destination"`
	Info        string  `json:"info"`
}

// Frames returns the newest n frames, oldest first; with data, each row also carries the frame's
// bytes.
func (s *Session) Frames(n int, data bool) ([]FrameRow, [][]byte) {
	if n <= 0 {
		return nil, nil
	}
	var rows []FrameRow
	var bodies [][]byte
	s.decMu.Lock()
	defer s.decMu.Unlock()
	var sum capture.Summary
	for f := range s.ring.Last(n, nil) {
		s.dec.Summarize(f.Data, f.OrigLen, &sum)
		rows = append(rows, FrameRow{Number: f.Number, Time: f.Time.Sub(s.start).Seconds(), Length: f.OrigLen,
			Captured: len(f.Data), Protocol: sum.Protocol.String(), Source: string(sum.Source()),
			Destination: string(sum.Destination()), Info: string(sum.Info())})
		if data {
			bodies = append(bodies, bytes.Clone(f.Data))
		}
	}
	return rows, bodies
}

// Export writes every frame the ring holds as "pcap" or "pcapng".
func (s *Session) Export(format string) ([]byte, error) {
	var b bytes.Buffer
	switch format {
	case "pcap":
		if err := capture.WritePcap(&b, s.ring.SnapLen(), false, s.ring.All(nil)); err != nil {
			return nil, err
		}
	case "pcapng":
		v := s.view.Load()
		st := s.ring.Stats()
		ifc := capture.PcapngInterface{Name: "usbnic0", Description: "webminiport " + v.label, SnapLen: s.ring.SnapLen(),
			Received: st.Recorded}
		if v.ad != nil {
			ifc.Dropped = v.ad.NDIS.Statistics().RxNoBuffer
		}
		if err := capture.WritePcapng(&b, ifc, s.ring.All(nil)); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("session: export format %q: want pcap or pcapng", format)
	}
	return b.Bytes(), nil
}

// PoolSlot returns the handle in slot index of pool i of generation gen, 0 when it is free in the
// pool or gone; for the map's tooltip.
func (s *Session) PoolSlot(gen uint64, i, index int) pool.NBL {
	v := s.view.Load()
	if v.gen != gen || i < 0 || i >= len(v.pools) {
		return 0
	}
	return v.pools[i].p.HandleAt(index)
}

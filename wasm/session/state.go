package session

import (
	"fmt"
	"strings"

	"webminiport/ndis"
	"webminiport/pool"
	"webminiport/usbnic"
)

// State is window.webminiport.state(): a JSON-serialisable snapshot of the adapter, its pools
// with their counters and owner maps, the capture driver, the ring and the station. Field names
// are the JSON names; README.md ("Console API") lists them.
type State struct {
	Source   string          `json:"source"` // "virtual", "usb" or "none"
	Model    string          `json:"model,omitempty"`
	Profile  string          `json:"profile,omitempty"`
	Adapter  AdapterState    `json:"adapter"`
	Pools    []PoolState     `json:"pools"`
	Stats    ndis.Statistics `json:"statistics"`
	NIC      usbnic.Stats    `json:"usb"`
	Capture  CaptureState    `json:"capture"`
	Ring     RingState       `json:"ring"`
	Pending  PendingState    `json:"pending"`
	Reports  []ReportState   `json:"reports"`
	Station  StationState    `json:"station"`
	Settings SettingsState   `json:"settings"`
}

// AdapterState is the adapter bar.
type AdapterState struct {
	Label       string   `json:"label"`
	State       string   `json:"state"` // Initializing, Paused, Restarting, Running, Pausing, Halted
	Initialized bool     `json:"initialized"`
	Driver      string   `json:"driver,omitempty"`
	Reason      string   `json:"reason,omitempty"`
	VIDPID      string   `json:"vidpid,omitempty"`
	MAC         string   `json:"mac,omitempty"`
	Link        string   `json:"link"`
	Speed       uint64   `json:"speed"` // bits per second
	BusSpeed    string   `json:"busSpeed,omitempty"`
	RxTransfers int      `json:"rxTransfers"`
	Removed     bool     `json:"removed"`
	Error       string   `json:"error,omitempty"`
	Log         []string `json:"log,omitempty"`
}

// PoolState is one pool card.
type PoolState struct {
	Handle      uint16         `json:"handle"`
	Name        string         `json:"name"`
	Tag         string         `json:"tag"`
	AllocatedBy string         `json:"allocatedBy"`
	Component   string         `json:"component"`
	Shape       string         `json:"shape"`
	Flags       string         `json:"flags,omitempty"`
	ContextSize uint16         `json:"contextSize"`
	DataSize    uint32         `json:"dataSize"`
	Capacity    int            `json:"capacity"`
	Allocated   int            `json:"allocated"`
	Free        int            `json:"free"`
	HighWater   int            `json:"highWater"`
	Failures    uint64         `json:"failures"`
	Misuses     uint64         `json:"misuses"`
	Owners      map[string]int `json:"owners"` // NBLs per owner, by ndis.OwnerName
	// OwnerMap has one character per NBL, its owner value in base 36 (0 free in the pool, 2
	// miniport free list, 5 held by the protocol, ...): the whole map in a compact string.
	OwnerMap string `json:"ownerMap"`
}

// CaptureState is the capture driver: its return policy and counters.
type CaptureState struct {
	Policy               string `json:"policy"`
	DelayMs              int64  `json:"delayMs"`
	Hold                 int    `json:"hold"`
	Indications          uint64 `json:"indications"`
	ResourcesIndications uint64 `json:"resourcesIndications"`
	Frames               uint64 `json:"frames"`
	Bytes                uint64 `json:"bytes"`
	Returned             int64  `json:"returned"`
	Held                 int    `json:"held"`
	Delayed              int64  `json:"delayed"`
	Sent                 uint64 `json:"sent"`
	SendOK               uint64 `json:"sendOK"`
	SendFailed           uint64 `json:"sendFailed"`
}

// RingState is the capture ring.
type RingState struct {
	Recorded  uint64 `json:"recorded"`
	Evicted   uint64 `json:"evicted"`
	Held      int    `json:"held"`
	HeldBytes int    `json:"heldBytes"`
	First     uint64 `json:"first"`
	Last      uint64 `json:"last"`
}

// PendingState is the summary of !ndiskd.pendingnbls.
type PendingState struct {
	Pools   int `json:"pools"`
	Freed   int `json:"freed"`
	Total   int `json:"total"`
	Pending int `json:"pending"`
}

// ReportState is one misuse or watchdog report.
type ReportState struct {
	Seq      uint64 `json:"seq"`
	Class    string `json:"class"`
	Bugcheck string `json:"bugcheck,omitempty"`
	Message  string `json:"message"`
}

// StationState is the page's host.
type StationState struct {
	DHCP        string  `json:"dhcp"`
	Address     string  `json:"address,omitempty"`
	Router      string  `json:"router,omitempty"`
	DNS         string  `json:"dns,omitempty"`
	PingsSent   uint64  `json:"pingsSent"`
	PingReplies uint64  `json:"pingReplies"`
	ARPRequests uint64  `json:"arpRequests"`
	ARPAnswers  uint64  `json:"arpAnswers"`
	ARPReplies  uint64  `json:"arpReplies"`
	EchoReplies uint64  `json:"echoReplies"`
	LastRTTMs   float64 `json:"lastRttMs"`
}

// SettingsState is the control values.
type SettingsState struct {
	RxNBLs      int `json:"rxNBLs"`
	RxTransfers int `json:"rxTransfers"`
}

// State returns the snapshot. It allocates; it is for the console and the tests, not for the
// render loop.
func (s *Session) State() State {
	a := s.Adapter()
	var smp Sample
	s.Sample(&smp)
	out := State{Source: a.Source.String(), Stats: smp.Stats, NIC: smp.NIC,
		Settings: SettingsState{RxNBLs: a.Settings.RxNBLs, RxTransfers: a.Settings.RxTransfers}}
	if a.Source == SourceVirtual {
		out.Model, out.Profile = a.Model, a.Profile
	}
	ad := AdapterState{Label: a.Label, Initialized: a.Initialized, Error: a.Err, Link: "unknown"}
	if a.Initialized {
		i := a.Info
		ad.State = a.State.String()
		ad.Driver, ad.Reason = a.Driver, a.Reason
		ad.VIDPID = fmt.Sprintf("%04x:%04x", i.VendorID, i.ProductID)
		ad.MAC = usbnic.MACString(i.MAC)
		ad.Link = i.Link.MediaConnect.String()
		ad.Speed = i.Link.XmitSpeed
		ad.BusSpeed = i.BusSpeed.String()
		ad.RxTransfers = i.RxTransfers
		ad.Removed = i.Removed
		ad.Log = i.Log
	} else {
		ad.State = "none"
	}
	out.Adapter = ad

	gen := smp.Gen
	views := s.Pools(gen)
	owners := make([]byte, pool.MaxCapacity)
	for i, pv := range views {
		n := s.CopyOwners(gen, i, owners)
		st := pv.Stats
		if i < smp.NumPools {
			st = smp.Pools[i]
		}
		ps := PoolState{Handle: pv.Handle, Name: pv.Name, Tag: pv.Tag, AllocatedBy: pv.AllocatedBy,
			Component: pv.Component.String(), Shape: pv.Shape.String(), Flags: pv.Flags,
			ContextSize: pv.ContextSize, DataSize: pv.DataSize, Capacity: st.Capacity, Allocated: st.Allocated,
			Free: st.Free, HighWater: st.HighWater, Failures: st.Failures, Misuses: st.Misuses,
			Owners: map[string]int{}}
		var m strings.Builder
		counts := [pool.NumOwners]int{}
		for _, o := range owners[:n] {
			counts[o%pool.NumOwners]++
			m.WriteByte("0123456789abcdefghijklmnopqrstuvwxyz"[o%36])
		}
		for o, c := range counts {
			if c > 0 {
				ps.Owners[ndis.OwnerName(pool.Owner(o))] = c
			}
		}
		ps.OwnerMap = m.String()
		out.Pools = append(out.Pools, ps)
	}
	if out.Pools == nil {
		out.Pools = []PoolState{}
	}

	c := smp.Capture
	out.Capture = CaptureState{Policy: a.Settings.Policy.String(), DelayMs: a.Settings.Delay.Milliseconds(),
		Hold: a.Settings.Hold, Indications: c.Indications, ResourcesIndications: c.ResourcesIndications,
		Frames: c.Frames, Bytes: c.Bytes, Returned: c.Returned, Held: c.Held, Delayed: c.Delayed, Sent: c.Sent,
		SendOK: c.SendOK, SendFailed: c.SendFailed}
	r := smp.Ring
	out.Ring = RingState{Recorded: r.Recorded, Evicted: r.Evicted, Held: r.Held, HeldBytes: r.HeldBytes,
		First: r.First, Last: r.Last}
	p := s.Pending()
	out.Pending = PendingState{Pools: p.Pools, Freed: p.Freed, Total: p.Total, Pending: len(p.Pending)}
	out.Reports = []ReportState{}
	for _, rep := range s.Reports() {
		rs := ReportState{Seq: rep.Seq}
		if rep.Err != nil {
			rs.Class, rs.Bugcheck, rs.Message = rep.Err.Class.String(), rep.Err.Class.Bugcheck(), rep.Err.Error()
		}
		out.Reports = append(out.Reports, rs)
	}
	st := a.Station
	out.Station = StationState{DHCP: st.Phase.String(), PingsSent: st.PingsSent, PingReplies: st.PingReplies,
		ARPRequests: st.ARPRequests, ARPAnswers: st.ARPAnswers, ARPReplies: st.ARPReplies, EchoReplies: st.EchoReplies,
		LastRTTMs: float64(st.LastRTT.Microseconds()) / 1000}
	if st.IP.IsValid() {
		out.Station.Address = fmt.Sprintf("%v/%d", st.IP, st.PrefixBits)
	}
	if st.Router.IsValid() {
		out.Station.Router = st.Router.String()
	}
	if st.DNS.IsValid() {
		out.Station.DNS = st.DNS.String()
	}
	return out
}

package ndis

import (
	"fmt"

	"webminiport/pool"
)

// State is a miniport adapter state (specs/ndis.md §5).
type State uint8

// Adapter states. Halted is the initial state; Shutdown is terminal.
const (
	Halted State = iota
	Shutdown
	Initializing
	Paused
	Restarting
	Running
	Pausing
)

var stateNames = [...]string{"Halted", "Shutdown", "Initializing", "Paused", "Restarting", "Running", "Pausing"}

func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// Event is something that happens to an adapter: a row of the state table of specs/ndis.md §5.
type Event uint8

// Events, in the order of the table's rows. The table's row "Send/receive handled" is split in
// two because the text under the table allows receive indications in Restarting ("indications
// may resume as soon as MiniportRestart is called") while sends wait for Running.
const (
	EventInitialize         Event = iota // MiniportInitializeEx called
	EventInitializeComplete              // initialize returned success
	EventInitializeFailed                // initialize returned a failure
	EventShutdown                        // MiniportShutdownEx
	EventHalt                            // MiniportHaltEx
	EventRestart                         // MiniportRestart
	EventRestartComplete                 // restart succeeded (at once or via NdisMRestartComplete)
	EventRestartFailed                   // restart failed
	EventPause                           // MiniportPause
	EventPauseComplete                   // pause finished (at once or via NdisMPauseComplete)
	EventSend                            // a send handled by the miniport
	EventReceive                         // a receive indication
	EventOIDRequest                      // an OID request handled
	numEvents
)

var eventNames = [...]string{"Initialize", "InitializeComplete", "InitializeFailed", "Shutdown", "Halt",
	"Restart", "RestartComplete", "RestartFailed", "Pause", "PauseComplete", "Send", "Receive", "OIDRequest"}

func (e Event) String() string {
	if int(e) < len(eventNames) {
		return eventNames[e]
	}
	return fmt.Sprintf("Event(%d)", uint8(e))
}

// transitions is the table of specs/ndis.md §5: transitions[e][s] is the state after event e in
// state s, or invalid for a blank cell.
const invalid State = 0xFF

var transitions = func() [numEvents][Pausing + 1]State {
	var t [numEvents][Pausing + 1]State
	for e := range t {
		for s := range t[e] {
			t[e][s] = invalid
		}
	}
	t[EventInitialize][Halted] = Initializing
	t[EventInitializeComplete][Initializing] = Paused
	t[EventInitializeFailed][Initializing] = Halted
	for _, s := range []State{Paused, Restarting, Running, Pausing} {
		t[EventShutdown][s] = Shutdown
		t[EventOIDRequest][s] = s
	}
	t[EventHalt][Paused] = Halted
	t[EventRestart][Paused] = Restarting
	t[EventRestartComplete][Restarting] = Running
	t[EventRestartFailed][Restarting] = Paused
	t[EventPause][Running] = Pausing
	t[EventPauseComplete][Pausing] = Paused
	t[EventSend][Running] = Running
	t[EventSend][Pausing] = Pausing
	t[EventReceive][Running] = Running
	t[EventReceive][Pausing] = Pausing
	t[EventReceive][Restarting] = Restarting
	return t
}()

// Transition returns the state after event e in state s. A blank cell of the table is a
// *pool.MisuseError of class IllegalStateTransition (bugcheck class 0x7C/0x1F).
func Transition(s State, e Event) (State, error) {
	if s > Pausing || e >= numEvents || transitions[e][s] == invalid {
		return s, &pool.MisuseError{Class: pool.IllegalStateTransition,
			Detail: fmt.Sprintf("event %v is not allowed in state %v", e, s)}
	}
	return transitions[e][s], nil
}

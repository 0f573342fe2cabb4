package pool

import (
	"errors"
	"strconv"
)

// MisuseClass is one class of misuse from specs/ndis.md §10 (rows 1..25), plus the pool-creation
// classes. pool reports rows 1-4 and 12-16; ndis reports the rest with the same type.
type MisuseClass uint8

// The classes, in §10 order. Row 4 splits into ForeignNBLFree and WrongFreeFunction, row 14 into
// ContextLeak and BadContextFree, row 18 (and §9 item 26) into WatchdogPause and WatchdogHalt,
// row 19 into three and row 24 into three.
const (
	DoubleFree MisuseClass = iota + 1
	UseAfterFree
	PoolFreeWithOutstanding
	ForeignNBLFree
	WrongFreeFunction
	AccessWhileLent
	DoubleIndicate
	ResourcesNBLLeak
	ChainNotRestored
	CountMismatch
	MissingSourceHandle
	IndicateInWrongState
	BadEthernetNBL
	FreeEmbeddedNB
	ContextLeak
	BadContextFree
	InvalidAllocArgs
	NonPoolNBL
	LeakedNBL
	WatchdogPause
	WatchdogHalt
	StuckNBL
	SendNotCompleted
	DoubleComplete
	BadStatus
	AccessAfterComplete
	NBListTampered
	IllegalStateTransition
	PauseFailed
	OIDDoubleComplete
	OIDBufferOverflow
	OIDMustSucceedFailed
	InvalidObjectHeader
	InvalidPoolParams
)

// misuseClasses holds the §10 report name and the nearest documented bugcheck (§8, §10) of each
// class. An empty bugcheck means §10 says the real system's reaction is not documented.
var misuseClasses = [...]struct{ name, bugcheck string }{
	DoubleFree:              {"DOUBLE_FREE", "0xC2/0x06"},
	UseAfterFree:            {"USE_AFTER_FREE", "0xD5"},
	PoolFreeWithOutstanding: {"POOL_FREE_WITH_OUTSTANDING", "0x7C/0x27"},
	ForeignNBLFree:          {"FOREIGN_NBL_FREE", ""},
	WrongFreeFunction:       {"WRONG_FREE_FUNCTION", ""},
	AccessWhileLent:         {"ACCESS_WHILE_LENT", "0x7C/0x05"},
	DoubleIndicate:          {"DOUBLE_INDICATE", "0x7C/0x05"},
	ResourcesNBLLeak:        {"RESOURCES_NBL_LEAK", "0x7C/0x27"},
	ChainNotRestored:        {"CHAIN_NOT_RESTORED", ""},
	CountMismatch:           {"COUNT_MISMATCH", ""},
	MissingSourceHandle:     {"MISSING_SOURCE_HANDLE", ""},
	IndicateInWrongState:    {"INDICATE_IN_WRONG_STATE", ""},
	BadEthernetNBL:          {"BAD_ETHERNET_NBL", ""},
	FreeEmbeddedNB:          {"FREE_EMBEDDED_NB", ""},
	ContextLeak:             {"CONTEXT_LEAK", ""},
	BadContextFree:          {"BAD_CONTEXT_FREE", ""},
	InvalidAllocArgs:        {"INVALID_ALLOC_ARGS", ""},
	NonPoolNBL:              {"NON_POOL_NBL", ""},
	LeakedNBL:               {"LEAKED_NBL", "0x7C/0x27"},
	WatchdogPause:           {"WATCHDOG_PAUSE", "0x7C/0x25/0x21"},
	WatchdogHalt:            {"WATCHDOG_HALT", "0x7C/0x25/0x22"},
	StuckNBL:                {"STUCK_NBL", "0x15E/0x30"},
	SendNotCompleted:        {"SEND_NOT_COMPLETED", "0xC4/0x9200D"},
	DoubleComplete:          {"DOUBLE_COMPLETE", ""},
	BadStatus:               {"BAD_STATUS", ""},
	AccessAfterComplete:     {"ACCESS_AFTER_COMPLETE", ""},
	NBListTampered:          {"NB_LIST_TAMPERED", ""},
	IllegalStateTransition:  {"ILLEGAL_STATE_TRANSITION", "0x7C/0x1F"},
	PauseFailed:             {"PAUSE_FAILED", ""},
	OIDDoubleComplete:       {"OID_DOUBLE_COMPLETE", "0x7C/0x26"},
	OIDBufferOverflow:       {"OID_BUFFER_OVERFLOW", "0x7C/0x1D"},
	OIDMustSucceedFailed:    {"OID_MUST_SUCCEED_FAILED", "0x7C/0x1C"},
	InvalidObjectHeader:     {"INVALID_OBJECT_HEADER", "0x7C/0x21"},
	InvalidPoolParams:       {"INVALID_POOL_PARAMS", ""},
}

// String returns the §10 report name, e.g. "DOUBLE_FREE".
func (c MisuseClass) String() string {
	if c == 0 || int(c) >= len(misuseClasses) {
		return "MisuseClass(" + strconv.Itoa(int(c)) + ")"
	}
	return misuseClasses[c].name
}

// Bugcheck returns the bugcheck the real system raises for this class, as code/P1[/P2]
// (e.g. "0x7C/0x27"), or "" where §10 says the reaction is not documented.
func (c MisuseClass) Bugcheck() string {
	if c == 0 || int(c) >= len(misuseClasses) {
		return ""
	}
	return misuseClasses[c].bugcheck
}

// MisuseError reports a misuse. Nothing was changed by the call that returned it.
type MisuseError struct {
	Class   MisuseClass
	Pool    string // pool name, if any
	Handle  uint32 // NBL or NB handle involved (the kind bit tells which), if any
	Handles []NBL  // e.g. the NBLs outstanding for PoolFreeWithOutstanding
	NBs     []NB   // the NBs outstanding when an NB pool is freed
	Detail  string
}

// Error renders `DOUBLE_FREE (0xC2/0x06): NBL 0x03000001 of pool "usbnic rx": already free`.
func (e *MisuseError) Error() string {
	b := append([]byte(nil), e.Class.String()...)
	if bc := e.Class.Bugcheck(); bc != "" {
		b = append(b, " ("...)
		b = append(b, bc...)
		b = append(b, ')')
	}
	b = append(b, ": "...)
	switch {
	case e.Handle != 0 && e.Pool != "":
		b = appendHandle(b, e.Handle)
		b = append(b, " of pool "...)
		b = strconv.AppendQuote(b, e.Pool)
		b = append(b, ": "...)
	case e.Handle != 0:
		b = appendHandle(b, e.Handle)
		b = append(b, ": "...)
	case e.Pool != "":
		b = append(b, "pool "...)
		b = strconv.AppendQuote(b, e.Pool)
		b = append(b, ": "...)
	}
	b = append(b, e.Detail...)
	return string(b)
}

// Is makes errors.Is(err, &MisuseError{Class: DoubleFree}) match by class; a target with Class 0
// matches every misuse.
func (e *MisuseError) Is(target error) bool {
	t, ok := target.(*MisuseError)
	return ok && (t.Class == 0 || t.Class == e.Class)
}

// ErrExhausted is what every exhaustion error matches with errors.Is: the pool had nothing left
// where NDIS returns NULL or NDIS_STATUS_RESOURCES. Exhaustion is not misuse.
var ErrExhausted = errors.New("pool: exhausted")

// ExhaustedError names the pool and the resource that ran out. Each pool preallocates its
// ExhaustedErrors, so failing to allocate allocates nothing.
type ExhaustedError struct {
	Pool     string
	Resource string // "NBL", "NB", "context space", "retreat buffer"
}

// Error renders `pool "usbnic rx": no free NBL (NDIS returns NULL or NDIS_STATUS_RESOURCES)`.
func (e *ExhaustedError) Error() string {
	return "pool " + strconv.Quote(e.Pool) + ": no free " + e.Resource + " (NDIS returns NULL or NDIS_STATUS_RESOURCES)"
}

// Is matches ErrExhausted.
func (e *ExhaustedError) Is(target error) bool { return target == ErrExhausted }

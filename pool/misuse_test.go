package pool

import (
	"errors"
	"fmt"
	"testing"
)

// The names are the report classes of specs/ndis.md §10, the codes its §8/§10 bugchecks.
func TestMisuseClassNamesAndBugchecksFollowSpec(t *testing.T) {
	tests := []struct {
		class         MisuseClass
		name, bugchek string
	}{
		{DoubleFree, "DOUBLE_FREE", "0xC2/0x06"},
		{UseAfterFree, "USE_AFTER_FREE", "0xD5"},
		{PoolFreeWithOutstanding, "POOL_FREE_WITH_OUTSTANDING", "0x7C/0x27"},
		{ForeignNBLFree, "FOREIGN_NBL_FREE", ""},
		{WrongFreeFunction, "WRONG_FREE_FUNCTION", ""},
		{AccessWhileLent, "ACCESS_WHILE_LENT", "0x7C/0x05"},
		{DoubleIndicate, "DOUBLE_INDICATE", "0x7C/0x05"},
		{ResourcesNBLLeak, "RESOURCES_NBL_LEAK", "0x7C/0x27"},
		{ChainNotRestored, "CHAIN_NOT_RESTORED", ""},
		{CountMismatch, "COUNT_MISMATCH", ""},
		{MissingSourceHandle, "MISSING_SOURCE_HANDLE", ""},
		{IndicateInWrongState, "INDICATE_IN_WRONG_STATE", ""},
		{BadEthernetNBL, "BAD_ETHERNET_NBL", ""},
		{FreeEmbeddedNB, "FREE_EMBEDDED_NB", ""},
		{ContextLeak, "CONTEXT_LEAK", ""},
		{BadContextFree, "BAD_CONTEXT_FREE", ""},
		{InvalidAllocArgs, "INVALID_ALLOC_ARGS", ""},
		{NonPoolNBL, "NON_POOL_NBL", ""},
		{LeakedNBL, "LEAKED_NBL", "0x7C/0x27"},
		{WatchdogPause, "WATCHDOG_PAUSE", "0x7C/0x25/0x21"},
		{WatchdogHalt, "WATCHDOG_HALT", "0x7C/0x25/0x22"},
		{StuckNBL, "STUCK_NBL", "0x15E/0x30"},
		{SendNotCompleted, "SEND_NOT_COMPLETED", "0xC4/0x9200D"},
		{DoubleComplete, "DOUBLE_COMPLETE", ""},
		{BadStatus, "BAD_STATUS", ""},
		{AccessAfterComplete, "ACCESS_AFTER_COMPLETE", ""},
		{NBListTampered, "NB_LIST_TAMPERED", ""},
		{IllegalStateTransition, "ILLEGAL_STATE_TRANSITION", "0x7C/0x1F"},
		{PauseFailed, "PAUSE_FAILED", ""},
		{OIDDoubleComplete, "OID_DOUBLE_COMPLETE", "0x7C/0x26"},
		{OIDBufferOverflow, "OID_BUFFER_OVERFLOW", "0x7C/0x1D"},
		{OIDMustSucceedFailed, "OID_MUST_SUCCEED_FAILED", "0x7C/0x1C"},
		{InvalidObjectHeader, "INVALID_OBJECT_HEADER", "0x7C/0x21"},
		{InvalidPoolParams, "INVALID_POOL_PARAMS", ""},
	}
	if len(tests) != int(InvalidPoolParams) {
		t.Fatalf("table covers %d classes, there are %d", len(tests), InvalidPoolParams)
	}
	for _, tt := range tests {
		if got := tt.class.String(); got != tt.name {
			t.Errorf("class %d String() = %q, want %q", tt.class, got, tt.name)
		}
		if got := tt.class.Bugcheck(); got != tt.bugchek {
			t.Errorf("%v Bugcheck() = %q, want %q", tt.class, got, tt.bugchek)
		}
	}
	if got := MisuseClass(0).String(); got != "MisuseClass(0)" {
		t.Errorf("class 0 String() = %q", got)
	}
	if got := MisuseClass(200).Bugcheck(); got != "" {
		t.Errorf("unknown class Bugcheck() = %q", got)
	}
}

func TestMisuseErrorFormat(t *testing.T) {
	tests := []struct {
		err  MisuseError
		want string
	}{
		{MisuseError{Class: DoubleFree, Pool: "usbnic rx", Handle: 0x03000001, Detail: "already freed"},
			`DOUBLE_FREE (0xC2/0x06): NBL 0x03000001 of pool "usbnic rx": already freed`},
		{MisuseError{Class: FreeEmbeddedNB, Pool: "rx", Handle: 0x03800002, Detail: "d"},
			`FREE_EMBEDDED_NB: NB 0x03800002 of pool "rx": d`},
		{MisuseError{Class: NonPoolNBL, Handle: 0x7f000000, Detail: "no pool"},
			`NON_POOL_NBL: NBL 0x7f000000: no pool`},
		{MisuseError{Class: PoolFreeWithOutstanding, Pool: "tx", Detail: "2 NBLs outstanding"},
			`POOL_FREE_WITH_OUTSTANDING (0x7C/0x27): pool "tx": 2 NBLs outstanding`},
		{MisuseError{Class: NonPoolNBL, Detail: "nil NBL"}, `NON_POOL_NBL: nil NBL`},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %s\nwant      %s", got, tt.want)
		}
	}
}

func TestMisuseErrorIsMatchesByClass(t *testing.T) {
	err := fmt.Errorf("wrapped: %w", &MisuseError{Class: ContextLeak})
	if !errors.Is(err, &MisuseError{Class: ContextLeak}) {
		t.Error("same class does not match")
	}
	if errors.Is(err, &MisuseError{Class: BadContextFree}) {
		t.Error("other class matches")
	}
	if !errors.Is(err, &MisuseError{}) {
		t.Error("class 0 does not match every misuse")
	}
	if errors.Is(err, ErrExhausted) {
		t.Error("misuse matches ErrExhausted")
	}
}

func TestExhaustedErrorMatchesErrExhausted(t *testing.T) {
	err := error(&ExhaustedError{Pool: "rx", Resource: "NBL"})
	if !errors.Is(err, ErrExhausted) {
		t.Error("ExhaustedError does not match ErrExhausted")
	}
	if errors.Is(err, &MisuseError{}) {
		t.Error("exhaustion matches misuse")
	}
	want := `pool "rx": no free NBL (NDIS returns NULL or NDIS_STATUS_RESOURCES)`
	if err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}
}

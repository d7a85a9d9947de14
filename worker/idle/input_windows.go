package idle

import (
	"context"
	"fmt"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

// DefaultSources returns Windows's input source.
func DefaultSources() []Named {
	return []Named{{Name: "win32", Source: LastInputInfo{}}}
}

var (
	user32               = windows.NewLazySystemDLL("user32.dll")
	kernel32             = windows.NewLazySystemDLL("kernel32.dll")
	procGetLastInputInfo = user32.NewProc("GetLastInputInfo")
	procGetTickCount     = kernel32.NewProc("GetTickCount")
)

// LastInputInfo asks Windows for the last input of the session we run in.
// A service runs in session 0, where no user ever types: there it cannot
// see input, and the worker must run in the user's session (or be told of
// input through an ActivityFile).
type LastInputInfo struct{}

// lastInputInfo is the LASTINPUTINFO struct.
type lastInputInfo struct {
	size uint32
	time uint32 // GetTickCount at the last input
}

func (LastInputInfo) LastInput(context.Context) (time.Time, bool, error) {
	var session uint32
	if err := windows.ProcessIdToSessionId(windows.GetCurrentProcessId(), &session); err == nil && session == 0 {
		return time.Time{}, false, nil
	}
	if procGetLastInputInfo.Find() != nil || procGetTickCount.Find() != nil {
		return time.Time{}, false, nil // no user32 input on this edition
	}
	info := lastInputInfo{size: uint32(unsafe.Sizeof(lastInputInfo{}))}
	if r, _, err := procGetLastInputInfo.Call(uintptr(unsafe.Pointer(&info))); r == 0 {
		return time.Time{}, false, fmt.Errorf("GetLastInputInfo: %w", err)
	}
	now, _, _ := procGetTickCount.Call()
	// Both are milliseconds since boot in 32 bits; the unsigned difference
	// stays right across their wrap every 49.7 days.
	idle := time.Duration(uint32(now)-info.time) * time.Millisecond
	return time.Now().Add(-idle), true, nil
}

package idle

import (
	"context"
	"fmt"
	"unsafe"
)

// DefaultPower returns Windows's power source.
func DefaultPower() Power { return SystemPowerStatus{} }

var procGetSystemPowerStatus = kernel32.NewProc("GetSystemPowerStatus")

// SystemPowerStatus reads ACLineStatus from GetSystemPowerStatus.
type SystemPowerStatus struct{}

// systemPowerStatus is the SYSTEM_POWER_STATUS struct.
type systemPowerStatus struct {
	acLineStatus        byte // 0 offline, 1 online, 255 unknown
	batteryFlag         byte
	batteryLifePercent  byte
	systemStatusFlag    byte
	batteryLifeTime     uint32
	batteryFullLifeTime uint32
}

func (SystemPowerStatus) OnBattery(context.Context) (bool, bool, error) {
	var s systemPowerStatus
	if r, _, err := procGetSystemPowerStatus.Call(uintptr(unsafe.Pointer(&s))); r == 0 {
		return false, false, fmt.Errorf("GetSystemPowerStatus: %w", err)
	}
	switch s.acLineStatus {
	case 0:
		return true, true, nil
	case 1:
		return false, true, nil
	}
	return false, false, nil
}

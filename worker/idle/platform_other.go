//go:build !linux && !windows && !darwin

package idle

// DefaultInput has no source on this OS; an ActivityFile can still be added.
func DefaultInput() Combined { return nil }

// DefaultPower has no source on this OS.
func DefaultPower() Power { return nil }

//go:build !linux && !windows && !darwin

package idle

// DefaultSources has no source on this OS; an ActivityFile can still be added.
func DefaultSources() []Named { return nil }

// DefaultPower has no source on this OS.
func DefaultPower() Power { return nil }

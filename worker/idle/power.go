package idle

import "context"

// Power tells whether the PC runs on battery, where research work would
// drain it. known is false when the power source cannot be told.
type Power interface {
	OnBattery(ctx context.Context) (onBattery, known bool, err error)
}

package main

import (
	"context"
	"math/rand/v2"

	"github.com/nightshift-platform/nightshift/worker/agent"
	"github.com/nightshift-platform/nightshift/worker/sandbox"
)

// wrongOutputs makes a share of successful outputs wrong, the way a faulty
// or dishonest host would. It exists to show and test validation (the demo
// runs one such host); a real volunteer never sets it.
type wrongOutputs struct {
	inner   agent.Executor
	percent int
}

func (w wrongOutputs) Exec(ctx context.Context, r sandbox.Run) (sandbox.Result, error) {
	res, err := w.inner.Exec(ctx, r)
	if err == nil && res.ExitCode == 0 && rand.IntN(100) < w.percent {
		res.Stdout = append([]byte(`{"tampered":true}`), res.Stdout...)
	}
	return res, err
}

// Package appkit is what a Nightshift app imports to cooperate with the
// worker that runs it: yield between steps of work so the task can be
// suspended, checkpoint when asked, and report progress. Built for other
// systems than wasip1, Yield and Progress do nothing, so an app's packages
// still build and test natively.
package appkit

import "github.com/nightshift-platform/nightshift/workunits/appiface"

// Action is what Yield asks of the app.
type Action = appiface.Action

const (
	Continue   = appiface.Continue   // carry on
	Checkpoint = appiface.Checkpoint // write a checkpoint now, then carry on: the worker may stop the process soon
)

// CheckpointPath is where an app keeps its checkpoint: the task's scratch
// directory, which outlives the process when the worker restarts it.
const CheckpointPath = "/scratch/checkpoint.json"

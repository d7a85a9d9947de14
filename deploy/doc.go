// Package deploy holds the files that run Nightshift: container images,
// compose, Kubernetes manifests, service units and the operators' runbook.
// It has no code; its test checks those files against the binaries.
package deploy

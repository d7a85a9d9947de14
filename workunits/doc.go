// Package workunits is Nightshift's domain: projects, apps, jobs, work units,
// the tasks (replicas) that hosts run, and the pure rules that move a unit
// from submission to a validated canonical result. It performs no I/O.
package workunits

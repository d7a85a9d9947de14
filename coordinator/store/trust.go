package store

import (
	"context"

	"github.com/nightshift-platform/nightshift/workunits"
)

// TrustTx is the part of Tx behind host trust, adaptive replication and
// daily quotas (workunits/trust.go).
type TrustTx interface {
	// HostQuotaGetMany loads the standing of the given hosts, in host id
	// order, and locks their rows for this transaction: a lease counting
	// against a quota, or a result changing it, waits for the other.
	// Callers pass the ids sorted (the order locks are taken in) and a
	// missing host is a workunits.ENOTFOUND error.
	HostQuotaGetMany(ctx context.Context, hostIDs []int64) ([]workunits.HostQuota, error)
	// HostQuotaUpdateMany stores each host's quota, lease count, streak
	// and block.
	HostQuotaUpdateMany(ctx context.Context, quotas []workunits.HostQuota) error
	// HostTrustGetMany returns the trust recorded for the given host and
	// app version pairs; a pair with none recorded is left out.
	HostTrustGetMany(ctx context.Context, keys []HostAppVersion) (map[HostAppVersion]workunits.HostTrust, error)
	// HostTrustUpsertMany stores each trust, creating the rows not yet
	// there. Rows are written in host, then app version, order.
	HostTrustUpsertMany(ctx context.Context, trusts []workunits.HostTrust) error
	// HostTrustList returns a host's trust for every app version it has a
	// record for, in app version order.
	HostTrustList(ctx context.Context, hostID int64) ([]workunits.HostTrust, error)
}

// HostAppVersion names one host's trust with one app version.
type HostAppVersion struct {
	HostID       int64
	AppVersionID int64
}

// TrustKey is the key of a trust record.
func TrustKey(t workunits.HostTrust) HostAppVersion {
	return HostAppVersion{HostID: t.HostID, AppVersionID: t.AppVersionID}
}

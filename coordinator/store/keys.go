package store

import (
	"context"
	"time"

	"github.com/nightshift-platform/nightshift/workunits"
)

// KeyTx is what a transaction can do with projects' members and API keys.
//
// A project always keeps an admin member holding a live admin key, so that
// someone can still manage it: the methods that revoke or remove refuse,
// with workunits.ECONFLICT, to take the last one away. They lock the
// project for the rest of the transaction, so that two of them at once
// cannot each take one of the last two.
//
// Every method taking a projectID finds only that project's rows: another
// project's member or key is workunits.ENOTFOUND.
type KeyTx interface {
	// ProjectList returns every project, in id order.
	ProjectList(ctx context.Context) ([]workunits.Project, error)
	// ProjectRename sets a project's name.
	ProjectRename(ctx context.Context, id int64, name string) (workunits.Project, error)

	// MemberInsert adds a member to a project. Another live member with
	// the same email (compared without case) is a workunits.ECONFLICT.
	MemberInsert(ctx context.Context, p MemberInsertParams) (workunits.Member, error)
	MemberGet(ctx context.Context, projectID, memberID int64) (workunits.Member, error)
	// MemberList returns a project's members, removed ones too, in id order.
	MemberList(ctx context.Context, projectID int64) ([]workunits.Member, error)
	// MemberRemove marks a member removed at now and revokes their live
	// keys. Removing a member already removed changes nothing and returns
	// them as they are.
	MemberRemove(ctx context.Context, projectID, memberID int64, now time.Time) (workunits.Member, error)

	// APIKeyInsert adds a key for a live member of the project; its role
	// must not be above the member's (workunits.EINVALID).
	APIKeyInsert(ctx context.Context, p APIKeyInsertParams) (workunits.APIKey, error)
	APIKeyGet(ctx context.Context, projectID, keyID int64) (workunits.APIKey, error)
	// APIKeyList returns a project's keys, revoked ones too, in id order.
	APIKeyList(ctx context.Context, projectID int64) ([]workunits.APIKey, error)
	// APIKeyRevoke revokes a key at now. Revoking a key already revoked
	// changes nothing and returns it as it is.
	APIKeyRevoke(ctx context.Context, projectID, keyID int64, now time.Time) (workunits.APIKey, error)
	// APIKeyGetByHash finds the key with this hash, revoked or not, for
	// authentication to decide on.
	APIKeyGetByHash(ctx context.Context, keyHash string) (workunits.APIKey, error)
}

type MemberInsertParams struct {
	ProjectID int64
	Name      string
	Email     string
	Role      workunits.Role
	Now       time.Time
}

type APIKeyInsertParams struct {
	ProjectID int64
	MemberID  int64
	Name      string
	Role      workunits.Role
	KeyHash   string
	Prefix    string
	Now       time.Time
}

// FirstKeyName is the name of the key a project is created with.
const FirstKeyName = "initial"

// FirstAdminName names the admin member a project is created with when
// ProjectInsertParams gives none.
const FirstAdminName = "admin"

package workunits

import (
	"net/mail"
	"strings"
	"time"
)

// Role is what a project member, and every key they hold, may do. Roles
// are ordered: each allows everything the ones below it allow.
type Role string

const (
	RoleViewer     Role = "viewer"     // reads the project: GETs only
	RoleResearcher Role = "researcher" // also changes research data: apps, blobs, jobs
	RoleAdmin      Role = "admin"      // also manages the project's keys and members
)

// rank orders the roles; an unknown role ranks below them all.
func (r Role) rank() int {
	switch r {
	case RoleViewer:
		return 1
	case RoleResearcher:
		return 2
	case RoleAdmin:
		return 3
	}
	return 0
}

// Valid reports whether r is one of the roles.
func (r Role) Valid() bool { return r.rank() > 0 }

// Allows reports whether a caller holding r may do what needs role need.
func (r Role) Allows(need Role) bool { return r.Valid() && r.rank() >= need.rank() }

// ParseRole checks a role given by a client.
func ParseRole(s string) (Role, error) {
	if r := Role(s); r.Valid() {
		return r, nil
	}
	return "", Errorf(EINVALID, "role must be one of admin, researcher, viewer, got %q", s)
}

// Member is a person in a project. Their keys act with their role; a
// removed member keeps their row (keys and history refer to it) but no
// longer holds a live key.
type Member struct {
	ID        int64
	ProjectID int64
	Name      string
	Email     string // "" for the member a project was created with, unless one was given
	Role      Role
	CreatedAt time.Time
	RemovedAt time.Time // zero while a member
}

// Removed reports whether the member has been removed from the project.
func (m Member) Removed() bool { return !m.RemovedAt.IsZero() }

// APIKey is one of a project's keys, as stored: the secret itself is
// shown once, when created, and kept only as a hash.
type APIKey struct {
	ID        int64
	ProjectID int64
	MemberID  int64
	Name      string
	Role      Role   // at most the member's role
	Prefix    string // the key's first KeyPrefixLen characters, to tell keys apart; "" for keys from before 0005
	CreatedAt time.Time
	RevokedAt time.Time // zero while live
}

// KeyPrefixLen is how much of a key its listing shows.
const KeyPrefixLen = 8

// Revoked reports whether the key has been revoked.
func (k APIKey) Revoked() bool { return !k.RevokedAt.IsZero() }

// maxEmailLen is the longest address SMTP can carry (RFC 5321).
const maxEmailLen = 254

// CheckEmail returns a bare address ("ada@example.org") trimmed of spaces,
// refusing anything else: display names, several addresses, no domain.
func CheckEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", Errorf(EINVALID, "email is required")
	}
	if len(s) > maxEmailLen {
		return "", Errorf(EINVALID, "email must be at most %d bytes", maxEmailLen)
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" || !strings.Contains(s[strings.LastIndexByte(s, '@')+1:], ".") {
		return "", Errorf(EINVALID, "email must be a plain address such as ada@example.org, got %q", s)
	}
	return s, nil
}

// CheckKeyRole is the role a new key of member m gets when role is asked
// for ("" takes the member's own): never above the member's.
func CheckKeyRole(m Member, role string) (Role, error) {
	if role == "" {
		return m.Role, nil
	}
	r, err := ParseRole(role)
	if err != nil {
		return "", err
	}
	if !m.Role.Allows(r) {
		return "", Errorf(EINVALID, "role %s is above member %d's role %s", r, m.ID, m.Role)
	}
	return r, nil
}

// The rules below keep a project manageable: it always has an admin member
// holding a live admin key. The store counts, under a lock on the project,
// and asks them.

// CheckMemberRemovable refuses to remove m if no admin would be left
// (otherAdmins counts the project's other live admin members) or if m holds
// live admin keys (ownAdminKeys) and nobody else does (otherAdminKeys).
func CheckMemberRemovable(m Member, otherAdmins, ownAdminKeys, otherAdminKeys int) error {
	switch {
	case m.Role == RoleAdmin && otherAdmins == 0:
		return Errorf(ECONFLICT, "member %d is the project's last admin; add another admin first", m.ID)
	case ownAdminKeys > 0 && otherAdminKeys == 0:
		return Errorf(ECONFLICT, "member %d holds the project's last live admin key; give another admin a key first", m.ID)
	}
	return nil
}

// CheckKeyRevocable refuses to revoke the project's last live admin key;
// otherAdminKeys counts its other live admin keys.
func CheckKeyRevocable(k APIKey, otherAdminKeys int) error {
	if k.Role == RoleAdmin && otherAdminKeys == 0 {
		return Errorf(ECONFLICT, "key %d is the project's last live admin key; create another admin key first", k.ID)
	}
	return nil
}

// CheckKeyInsert refuses a key for a removed member or with a role above
// the member's.
func CheckKeyInsert(m Member, role Role) error {
	switch {
	case m.Removed():
		return Errorf(ECONFLICT, "member %d has been removed from the project", m.ID)
	case !role.Valid():
		return Errorf(EINVALID, "role must be one of admin, researcher, viewer, got %q", role)
	case !m.Role.Allows(role):
		return Errorf(EINVALID, "role %s is above member %d's role %s", role, m.ID, m.Role)
	}
	return nil
}

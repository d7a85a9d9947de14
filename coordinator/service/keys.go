package service

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/payouts"
	"github.com/nightshift-platform/nightshift/workunits"
)

// ProjectCaller is who a project key authenticates: the project, and the
// key itself, whose role says what the caller may do.
type ProjectCaller struct {
	Project workunits.Project
	Key     workunits.APIKey
}

// AuthProjectKey finds the project and the live key a research API key is.
// A revoked key is refused as such, so that its holder knows to ask for a
// new one rather than check what they pasted.
func (s *Service) AuthProjectKey(ctx context.Context, key string) (ProjectCaller, error) {
	var c ProjectCaller
	if !strings.HasPrefix(key, ProjectKeyPrefix) {
		if key == "" {
			return c, errMissingKey
		}
		return c, workunits.Errorf(workunits.EUNAUTHORIZED, "invalid project key (project keys start with %q)", ProjectKeyPrefix)
	}
	err := s.store.InReadTx(ctx, func(tx store.Tx) (err error) {
		if c.Key, err = tx.APIKeyGetByHash(ctx, hashKey(key)); err != nil {
			return err
		}
		if c.Key.Revoked() {
			return workunits.Errorf(workunits.EUNAUTHORIZED, "project key %d %q has been revoked", c.Key.ID, c.Key.Name)
		}
		c.Project, err = tx.ProjectGet(ctx, c.Key.ProjectID)
		return err
	})
	return c, authError(err, "project key")
}

// NewMember is a person to add to a project.
type NewMember struct {
	Name  string
	Email string
	Role  string
}

// check returns the member as stored, refusing bad fields.
func (m NewMember) check() (NewMember, error) {
	var err error
	if m.Name, err = checkName("name", m.Name); err != nil {
		return m, err
	}
	if m.Email, err = workunits.CheckEmail(m.Email); err != nil {
		return m, err
	}
	_, err = workunits.ParseRole(m.Role)
	return m, err
}

// NewProject is a project to create. Admin, if set, is the member holding
// the first key; without one it is a member named "admin" with no email.
type NewProject struct {
	Name       string
	Admin      *NewMember        // Role is ignored: the first member is an admin
	SigningKey ed25519.PublicKey // nil: the operator sets one later
	Share      int               // fair-share weight; 0: workunits.DefaultShare
	// Description says what the project researches; contributors see it.
	Description string
}

// MaxProjectDescription bounds what a project says of its research.
const MaxProjectDescription = 2000

// checkDescription trims a project's description and refuses one too long
// or not text.
func checkDescription(d string) (string, error) {
	d = strings.TrimSpace(d)
	if !utf8.ValidString(d) || utf8.RuneCountInString(d) > MaxProjectDescription {
		return "", workunits.Errorf(workunits.EINVALID, "description must be text of at most %d characters", MaxProjectDescription)
	}
	return d, nil
}

// CreateProjectWith creates a research project with its first member, an
// admin, and returns the member's key, which is shown this once and stored
// only as a hash.
func (s *Service) CreateProjectWith(ctx context.Context, np NewProject) (workunits.Project, string, error) {
	name, err := checkName("name", np.Name)
	if err != nil {
		return workunits.Project{}, "", err
	}
	key := NewKey(ProjectKeyPrefix)
	params := store.ProjectInsertParams{Name: name, KeyHash: hashKey(key), KeyPrefix: key[:workunits.KeyPrefixLen], Now: s.now()}
	if np.Admin != nil {
		admin := *np.Admin
		admin.Role = string(workunits.RoleAdmin)
		if admin, err = admin.check(); err != nil {
			return workunits.Project{}, "", prefixed("admin.", err)
		}
		params.AdminName, params.AdminEmail = admin.Name, admin.Email
	}
	if np.Share != 0 {
		if err := workunits.ValidateShare(np.Share); err != nil {
			return workunits.Project{}, "", err
		}
		params.Share = np.Share
	}
	description, err := checkDescription(np.Description)
	if err != nil {
		return workunits.Project{}, "", err
	}
	if np.SigningKey != nil && len(np.SigningKey) != ed25519.PublicKeySize {
		return workunits.Project{}, "", workunits.Errorf(workunits.EINVALID, "signing_public_key must be %d bytes", ed25519.PublicKeySize)
	}
	var p workunits.Project
	err = s.store.InTx(ctx, func(tx store.Tx) (err error) {
		if p, err = tx.ProjectInsert(ctx, params); err != nil {
			return err
		}
		if description != "" {
			if err := tx.ProjectDescriptionSet(ctx, p.ID, description); err != nil {
				return err
			}
			p.Description = description
		}
		if np.SigningKey == nil {
			return nil
		}
		return tx.ProjectSigningKeySet(ctx, p.ID, np.SigningKey)
	})
	if err != nil {
		return p, "", fmt.Errorf("creating project: %w", err)
	}
	s.log.Info("project created", "project", p.ID, "name", p.Name)
	return p, key, nil
}

// prefixed names the object a field error is about: "admin.email is required".
func prefixed(prefix string, err error) error {
	if workunits.ErrorCode(err) != workunits.EINVALID {
		return err
	}
	return workunits.Errorf(workunits.EINVALID, "%s%s", prefix, workunits.ErrorMessage(err))
}

// ProjectView is a project as the operator sees it.
type ProjectView struct {
	workunits.Project
	BudgetMicros int64
	SigningKey   []byte // nil until the operator sets one
}

// Projects lists every project with its budget, for the operator.
func (s *Service) Projects(ctx context.Context) ([]ProjectView, error) {
	var out []ProjectView
	err := s.store.InReadTx(ctx, func(tx store.Tx) error {
		projects, err := tx.ProjectList(ctx)
		if err != nil {
			return err
		}
		accounts := make([]payouts.Account, len(projects))
		for i, p := range projects {
			accounts[i] = payouts.ProjectBudget(p.ID)
		}
		budgets, err := tx.LedgerBalanceMany(ctx, accounts)
		if err != nil {
			return err
		}
		out = make([]ProjectView, len(projects))
		for i, p := range projects {
			out[i] = ProjectView{Project: p, BudgetMicros: budgets[accounts[i]]}
			if out[i].SigningKey, err = tx.ProjectSigningKeyGet(ctx, p.ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing projects: %w", err)
	}
	return out, nil
}

// Project returns one project with its budget, for the operator.
func (s *Service) Project(ctx context.Context, id int64) (ProjectView, error) {
	var v ProjectView
	err := s.store.InReadTx(ctx, func(tx store.Tx) (err error) {
		if v.Project, err = tx.ProjectGet(ctx, id); err != nil {
			return err
		}
		if v.SigningKey, err = tx.ProjectSigningKeyGet(ctx, id); err != nil {
			return err
		}
		v.BudgetMicros, err = tx.LedgerBalance(ctx, payouts.ProjectBudget(id))
		return err
	})
	return v, err
}

// ProjectChange is what the operator may change in a project; nil fields
// stay as they are.
type ProjectChange struct {
	Name  *string
	Share *int // fair-share weight
	// Description replaces what the project says of its research; "" clears it.
	Description *string
}

// UpdateProject applies a change to a project and returns it.
func (s *Service) UpdateProject(ctx context.Context, id int64, c ProjectChange) (ProjectView, error) {
	if c.Name == nil && c.Share == nil && c.Description == nil {
		return ProjectView{}, workunits.Errorf(workunits.EINVALID, "nothing to change: give name, share or description")
	}
	var description string
	if c.Description != nil {
		var err error
		if description, err = checkDescription(*c.Description); err != nil {
			return ProjectView{}, err
		}
	}
	var name string
	if c.Name != nil {
		var err error
		if name, err = checkName("name", *c.Name); err != nil {
			return ProjectView{}, err
		}
	}
	if c.Share != nil {
		if err := workunits.ValidateShare(*c.Share); err != nil {
			return ProjectView{}, err
		}
	}
	if err := s.store.InTx(ctx, func(tx store.Tx) error {
		if c.Name != nil {
			if _, err := tx.ProjectRename(ctx, id, name); err != nil {
				return err
			}
		}
		if c.Share != nil {
			if err := tx.ProjectShareSet(ctx, id, *c.Share); err != nil {
				return err
			}
		}
		if c.Description != nil {
			return tx.ProjectDescriptionSet(ctx, id, description)
		}
		return nil
	}); err != nil {
		return ProjectView{}, fmt.Errorf("updating project %d: %w", id, err)
	}
	s.log.Info("project updated", "project", id, "name", c.Name != nil, "share", c.Share != nil, "description", c.Description != nil)
	return s.Project(ctx, id)
}

// NewAPIKey is a key to create for a member of the caller's project.
type NewAPIKey struct {
	Name     string
	Role     string // "" takes the member's role
	MemberID int64  // 0: the caller's own member
}

// CreateAPIKey creates a key and returns it with its secret, shown this
// once and stored only as a hash.
func (s *Service) CreateAPIKey(ctx context.Context, caller ProjectCaller, nk NewAPIKey) (workunits.APIKey, string, error) {
	name, err := checkName("name", nk.Name)
	if err != nil {
		return workunits.APIKey{}, "", err
	}
	if nk.MemberID < 0 {
		return workunits.APIKey{}, "", workunits.Errorf(workunits.EINVALID, "member_id must be a positive integer, got %d", nk.MemberID)
	}
	if nk.MemberID == 0 {
		nk.MemberID = caller.Key.MemberID
	}
	secret := NewKey(ProjectKeyPrefix)
	var k workunits.APIKey
	err = s.store.InTx(ctx, func(tx store.Tx) error {
		m, err := tx.MemberGet(ctx, caller.Project.ID, nk.MemberID)
		if err != nil {
			return err
		}
		role, err := workunits.CheckKeyRole(m, nk.Role)
		if err != nil {
			return err
		}
		k, err = tx.APIKeyInsert(ctx, store.APIKeyInsertParams{ProjectID: caller.Project.ID, MemberID: m.ID, Name: name, Role: role,
			KeyHash: hashKey(secret), Prefix: secret[:workunits.KeyPrefixLen], Now: s.now()})
		return err
	})
	if err != nil {
		return k, "", fmt.Errorf("creating key: %w", err)
	}
	s.log.Info("project key created", "project", k.ProjectID, "key", k.ID, "member", k.MemberID, "role", k.Role, "by_key", caller.Key.ID)
	return k, secret, nil
}

// APIKeys lists a project's keys, revoked ones too.
func (s *Service) APIKeys(ctx context.Context, projectID int64) ([]workunits.APIKey, error) {
	var out []workunits.APIKey
	err := s.store.InReadTx(ctx, func(tx store.Tx) (err error) {
		out, err = tx.APIKeyList(ctx, projectID)
		return err
	})
	return out, err
}

// RevokeAPIKey revokes one of the caller's project's keys, the caller's own
// included, unless it is the project's last live admin key.
func (s *Service) RevokeAPIKey(ctx context.Context, caller ProjectCaller, keyID int64) (workunits.APIKey, error) {
	var k workunits.APIKey
	err := s.store.InTx(ctx, func(tx store.Tx) (err error) {
		k, err = tx.APIKeyRevoke(ctx, caller.Project.ID, keyID, s.now())
		return err
	})
	if err != nil {
		return k, fmt.Errorf("revoking key %d: %w", keyID, err)
	}
	s.log.Info("project key revoked", "project", k.ProjectID, "key", k.ID, "by_key", caller.Key.ID)
	return k, nil
}

// AddMember adds a person to the caller's project.
func (s *Service) AddMember(ctx context.Context, caller ProjectCaller, nm NewMember) (workunits.Member, error) {
	nm, err := nm.check()
	if err != nil {
		return workunits.Member{}, err
	}
	var m workunits.Member
	err = s.store.InTx(ctx, func(tx store.Tx) (err error) {
		m, err = tx.MemberInsert(ctx, store.MemberInsertParams{ProjectID: caller.Project.ID, Name: nm.Name, Email: nm.Email,
			Role: workunits.Role(nm.Role), Now: s.now()})
		return err
	})
	if err != nil {
		return m, fmt.Errorf("adding member: %w", err)
	}
	s.log.Info("project member added", "project", m.ProjectID, "member", m.ID, "role", m.Role, "by_key", caller.Key.ID)
	return m, nil
}

// Members lists a project's members, removed ones too.
func (s *Service) Members(ctx context.Context, projectID int64) ([]workunits.Member, error) {
	var out []workunits.Member
	err := s.store.InReadTx(ctx, func(tx store.Tx) (err error) {
		out, err = tx.MemberList(ctx, projectID)
		return err
	})
	return out, err
}

// RemoveMember removes a person from the caller's project and revokes
// their keys, unless that would leave the project without an admin or an
// admin key.
func (s *Service) RemoveMember(ctx context.Context, caller ProjectCaller, memberID int64) (workunits.Member, error) {
	var m workunits.Member
	err := s.store.InTx(ctx, func(tx store.Tx) (err error) {
		m, err = tx.MemberRemove(ctx, caller.Project.ID, memberID, s.now())
		return err
	})
	if err != nil {
		return m, fmt.Errorf("removing member %d: %w", memberID, err)
	}
	s.log.Info("project member removed", "project", m.ProjectID, "member", m.ID, "by_key", caller.Key.ID)
	return m, nil
}

package storetest

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/workunits"
)

// Member adds a member with the given role to a project.
func (f *factory) Member(projectID int64, role workunits.Role) workunits.Member {
	f.t.Helper()
	n := serial.Add(1)
	m, err := f.tx.MemberInsert(f.ctx, store.MemberInsertParams{ProjectID: projectID, Name: fmt.Sprintf("member %d", n),
		Email: fmt.Sprintf("member%d@example.org", n), Role: role, Now: t0})
	f.fail("inserting member", err)
	return m
}

// Key gives a member a key with the given role; its hash is keyHash(k).
func (f *factory) Key(m workunits.Member, role workunits.Role) workunits.APIKey {
	f.t.Helper()
	n := serial.Add(1)
	k, err := f.tx.APIKeyInsert(f.ctx, store.APIKeyInsertParams{ProjectID: m.ProjectID, MemberID: m.ID, Name: fmt.Sprintf("key %d", n),
		Role: role, KeyHash: fmt.Sprintf("key-hash-%d", n), Prefix: fmt.Sprintf("nsp_%04d", n%10000), Now: t0})
	f.fail("inserting key", err)
	return k
}

// keyHash is the hash factory.Key gave k.
func keyHash(k workunits.APIKey) string { return "key-hash-" + strings.TrimPrefix(k.Name, "key ") }

// wantTxCode runs fn in a transaction that must fail with code, and so
// change nothing.
func wantTxCode(t *testing.T, s store.Store, code workunits.Code, fn func(tx store.Tx) error) {
	t.Helper()
	wantCode(t, s.InTx(t.Context(), fn), code)
}

// firstMember returns the admin member ProjectInsert made and its key.
func firstMember(t *testing.T, tx store.Tx, projectID int64) (workunits.Member, workunits.APIKey) {
	t.Helper()
	members, err := tx.MemberList(t.Context(), projectID)
	if err != nil || len(members) == 0 {
		t.Fatalf("MemberList(%d) = %v, %v; want the first member", projectID, members, err)
	}
	keys, err := tx.APIKeyList(t.Context(), projectID)
	if err != nil || len(keys) == 0 {
		t.Fatalf("APIKeyList(%d) = %v, %v; want the first key", projectID, keys, err)
	}
	return members[0], keys[0]
}

func testKeys(t *testing.T, newStore func(*testing.T) store.Store) {
	t.Run("ProjectInsertMakesAdmin", func(t *testing.T) {
		s := setup(t, newStore)
		now := t0.Add(1234567 * time.Nanosecond)
		var named, plain workunits.Project
		inTx(t, s, func(tx store.Tx, f *factory) (err error) {
			if named, err = tx.ProjectInsert(t.Context(), store.ProjectInsertParams{Name: "a", KeyHash: "kh-a", KeyPrefix: "nsp_abcd",
				AdminName: "Ada", AdminEmail: "ada@example.org", Now: now}); err != nil {
				return err
			}
			plain, err = tx.ProjectInsert(t.Context(), store.ProjectInsertParams{Name: "b", KeyHash: "kh-b", Now: now})
			return err
		})
		inTx(t, s, func(tx store.Tx, f *factory) error {
			for _, tt := range []struct {
				p                 workunits.Project
				hash, name, email string
				prefix            string
			}{{named, "kh-a", "Ada", "ada@example.org", "nsp_abcd"}, {plain, "kh-b", store.FirstAdminName, "", ""}} {
				m, k := firstMember(t, tx, tt.p.ID)
				wantM := workunits.Member{ID: m.ID, ProjectID: tt.p.ID, Name: tt.name, Email: tt.email, Role: workunits.RoleAdmin, CreatedAt: ms(now)}
				if m != wantM {
					t.Errorf("first member of project %q = %+v, want %+v", tt.p.Name, m, wantM)
				}
				wantK := workunits.APIKey{ID: k.ID, ProjectID: tt.p.ID, MemberID: m.ID, Name: store.FirstKeyName, Role: workunits.RoleAdmin,
					Prefix: tt.prefix, CreatedAt: ms(now)}
				if k != wantK {
					t.Errorf("first key of project %q = %+v, want %+v", tt.p.Name, k, wantK)
				}
				if got, err := tx.APIKeyGetByHash(t.Context(), tt.hash); err != nil || got != wantK {
					t.Errorf("APIKeyGetByHash(%q) = %+v, %v; want %+v", tt.hash, got, err, wantK)
				}
				if got, err := tx.ProjectGetByKeyHash(t.Context(), tt.hash); err != nil || got.ID != tt.p.ID {
					t.Errorf("ProjectGetByKeyHash(%q) = %+v, %v; want project %d", tt.hash, got, err, tt.p.ID)
				}
			}
			_, err := tx.APIKeyGetByHash(t.Context(), "no such hash")
			wantCode(t, err, workunits.ENOTFOUND)
			return nil
		})
	})

	t.Run("ProjectListRename", func(t *testing.T) {
		s := setup(t, newStore)
		var a, b workunits.Project
		inTx(t, s, func(tx store.Tx, f *factory) error {
			a, b = f.Project(), f.Project()
			return nil
		})
		inTx(t, s, func(tx store.Tx, f *factory) error {
			renamed, err := tx.ProjectRename(t.Context(), b.ID, "Renamed")
			if err != nil {
				return err
			}
			if renamed.ID != b.ID || renamed.Name != "Renamed" || !sameMS(renamed.CreatedAt, b.CreatedAt) {
				t.Errorf("ProjectRename = %+v, want project %d named Renamed", renamed, b.ID)
			}
			_, err = tx.ProjectRename(t.Context(), b.ID+1000, "x")
			wantCode(t, err, workunits.ENOTFOUND)
			return nil
		})
		inTx(t, s, func(tx store.Tx, f *factory) error {
			list, err := tx.ProjectList(t.Context())
			if err != nil {
				return err
			}
			if len(list) != 2 || list[0].ID != a.ID || list[0].Name != a.Name || list[1].ID != b.ID || list[1].Name != "Renamed" {
				t.Errorf("ProjectList = %+v, want %d (%s) then %d (Renamed)", list, a.ID, a.Name, b.ID)
			}
			return nil
		})
	})

	t.Run("Members", func(t *testing.T) {
		s := setup(t, newStore)
		var p, q workunits.Project
		var m workunits.Member
		inTx(t, s, func(tx store.Tx, f *factory) (err error) {
			p, q = f.Project(), f.Project()
			m, err = tx.MemberInsert(t.Context(), store.MemberInsertParams{ProjectID: p.ID, Name: "Bo", Email: "Bo@Example.org",
				Role: workunits.RoleResearcher, Now: t0})
			return err
		})
		want := workunits.Member{ID: m.ID, ProjectID: p.ID, Name: "Bo", Email: "Bo@Example.org", Role: workunits.RoleResearcher, CreatedAt: t0}
		if m != want {
			t.Errorf("MemberInsert = %+v, want %+v", m, want)
		}
		// Refused inserts change nothing.
		for _, tt := range []struct {
			name string
			p    store.MemberInsertParams
			code workunits.Code
		}{
			{"same email, other case", store.MemberInsertParams{ProjectID: p.ID, Name: "Bo 2", Email: "bo@example.ORG", Role: workunits.RoleViewer, Now: t0}, workunits.ECONFLICT},
			{"unknown role", store.MemberInsertParams{ProjectID: p.ID, Name: "Cy", Email: "cy@example.org", Role: "owner", Now: t0}, workunits.EINVALID},
			{"no such project", store.MemberInsertParams{ProjectID: q.ID + 1000, Name: "Cy", Email: "cy@example.org", Role: workunits.RoleViewer, Now: t0}, workunits.ENOTFOUND},
		} {
			wantTxCode(t, s, tt.code, func(tx store.Tx) error {
				_, err := tx.MemberInsert(t.Context(), tt.p)
				return err
			})
		}
		inTx(t, s, func(tx store.Tx, f *factory) error {
			// The same email in another project is another person's business.
			if _, err := tx.MemberInsert(t.Context(), store.MemberInsertParams{ProjectID: q.ID, Name: "Bo", Email: "bo@example.org",
				Role: workunits.RoleViewer, Now: t0}); err != nil {
				t.Errorf("same email in another project: %v", err)
			}
			got, err := tx.MemberGet(t.Context(), p.ID, m.ID)
			if err != nil || got != want {
				t.Errorf("MemberGet = %+v, %v; want %+v", got, err, want)
			}
			_, err = tx.MemberGet(t.Context(), q.ID, m.ID)
			wantCode(t, err, workunits.ENOTFOUND)
			list, err := tx.MemberList(t.Context(), p.ID)
			if err != nil || len(list) != 2 || list[0].Role != workunits.RoleAdmin || list[1] != want {
				t.Errorf("MemberList = %+v, %v; want the first admin then %+v", list, err, want)
			}
			return nil
		})
	})

	t.Run("MemberRemove", func(t *testing.T) {
		s := setup(t, newStore)
		var p, q workunits.Project
		var first, second, viewer workunits.Member
		var firstKey, secondKey, viewerKey workunits.APIKey
		inTx(t, s, func(tx store.Tx, f *factory) error {
			p, q = f.Project(), f.Project()
			first, firstKey = firstMember(t, tx, p.ID)
			second, viewer = f.Member(p.ID, workunits.RoleAdmin), f.Member(p.ID, workunits.RoleViewer)
			viewerKey = f.Key(viewer, workunits.RoleViewer)
			return nil
		})
		// second is an admin without keys: removing first would leave no admin key.
		wantTxCode(t, s, workunits.ECONFLICT, func(tx store.Tx) error {
			_, err := tx.MemberRemove(t.Context(), p.ID, first.ID, t0)
			return err
		})
		wantTxCode(t, s, workunits.ENOTFOUND, func(tx store.Tx) error {
			_, err := tx.MemberRemove(t.Context(), q.ID, viewer.ID, t0)
			return err
		})
		later := t0.Add(time.Hour)
		inTx(t, s, func(tx store.Tx, f *factory) error {
			secondKey = f.Key(second, workunits.RoleAdmin)
			removed, err := tx.MemberRemove(t.Context(), p.ID, viewer.ID, later)
			if err != nil {
				return err
			}
			if !sameMS(removed.RemovedAt, later) {
				t.Errorf("MemberRemove = %+v, want RemovedAt %v", removed, later)
			}
			if _, err := tx.MemberRemove(t.Context(), p.ID, first.ID, later); err != nil {
				t.Errorf("removing the first admin beside another holding a key: %v", err)
			}
			again, err := tx.MemberRemove(t.Context(), p.ID, viewer.ID, later.Add(time.Hour))
			if err != nil || !sameMS(again.RemovedAt, later) {
				t.Errorf("removing again = %+v, %v; want RemovedAt unchanged %v", again, err, later)
			}
			return nil
		})
		// Now second is the last admin.
		wantTxCode(t, s, workunits.ECONFLICT, func(tx store.Tx) error {
			_, err := tx.MemberRemove(t.Context(), p.ID, second.ID, later)
			return err
		})
		inTx(t, s, func(tx store.Tx, f *factory) error {
			for _, k := range []workunits.APIKey{firstKey, viewerKey} {
				got, err := tx.APIKeyGet(t.Context(), p.ID, k.ID)
				if err != nil || !sameMS(got.RevokedAt, later) {
					t.Errorf("key %d of a removed member = %+v, %v; want revoked at %v", k.ID, got, err, later)
				}
			}
			if got, err := tx.APIKeyGet(t.Context(), p.ID, secondKey.ID); err != nil || got.Revoked() {
				t.Errorf("key of the remaining admin = %+v, %v; want live", got, err)
			}
			if got, err := tx.MemberGet(t.Context(), p.ID, second.ID); err != nil || got.Removed() {
				t.Errorf("remaining admin = %+v, %v; want a member still", got, err)
			}
			_, err := tx.ProjectGetByKeyHash(t.Context(), keyHash(viewerKey))
			wantCode(t, err, workunits.ENOTFOUND)
			// A removed member's email is free again.
			if _, err := tx.MemberInsert(t.Context(), store.MemberInsertParams{ProjectID: p.ID, Name: "back", Email: viewer.Email,
				Role: workunits.RoleViewer, Now: later}); err != nil {
				t.Errorf("re-adding a removed member's email: %v", err)
			}
			return nil
		})
		// A removed member gets no new key.
		wantTxCode(t, s, workunits.ECONFLICT, func(tx store.Tx) error {
			_, err := tx.APIKeyInsert(t.Context(), store.APIKeyInsertParams{ProjectID: p.ID, MemberID: viewer.ID, Name: "x",
				Role: workunits.RoleViewer, KeyHash: "x", Now: later})
			return err
		})
	})

	t.Run("APIKeys", func(t *testing.T) {
		s := setup(t, newStore)
		var p, q workunits.Project
		var researcher workunits.Member
		var adminKey, key workunits.APIKey
		inTx(t, s, func(tx store.Tx, f *factory) (err error) {
			p, q = f.Project(), f.Project()
			_, adminKey = firstMember(t, tx, p.ID)
			researcher = f.Member(p.ID, workunits.RoleResearcher)
			key, err = tx.APIKeyInsert(t.Context(), store.APIKeyInsertParams{ProjectID: p.ID, MemberID: researcher.ID, Name: "laptop",
				Role: workunits.RoleViewer, KeyHash: "laptop-hash", Prefix: "nsp_lapt", Now: t0})
			return err
		})
		want := workunits.APIKey{ID: key.ID, ProjectID: p.ID, MemberID: researcher.ID, Name: "laptop", Role: workunits.RoleViewer,
			Prefix: "nsp_lapt", CreatedAt: t0}
		if key != want {
			t.Errorf("APIKeyInsert = %+v, want %+v", key, want)
		}
		for _, tt := range []struct {
			name string
			p    store.APIKeyInsertParams
			code workunits.Code
		}{
			{"role above the member's", store.APIKeyInsertParams{ProjectID: p.ID, MemberID: researcher.ID, Name: "x", Role: workunits.RoleAdmin, KeyHash: "x1", Now: t0}, workunits.EINVALID},
			{"member of another project", store.APIKeyInsertParams{ProjectID: q.ID, MemberID: researcher.ID, Name: "x", Role: workunits.RoleViewer, KeyHash: "x2", Now: t0}, workunits.ENOTFOUND},
			{"no such project", store.APIKeyInsertParams{ProjectID: q.ID + 1000, MemberID: researcher.ID, Name: "x", Role: workunits.RoleViewer, KeyHash: "x3", Now: t0}, workunits.ENOTFOUND},
		} {
			wantTxCode(t, s, tt.code, func(tx store.Tx) error {
				_, err := tx.APIKeyInsert(t.Context(), tt.p)
				return err
			})
		}
		if err := s.InTx(t.Context(), func(tx store.Tx) error {
			_, err := tx.APIKeyInsert(t.Context(), store.APIKeyInsertParams{ProjectID: p.ID, MemberID: researcher.ID, Name: "dup",
				Role: workunits.RoleViewer, KeyHash: "laptop-hash", Now: t0})
			return err
		}); err == nil {
			t.Error("inserting a second key with the same hash succeeded")
		}
		// The last admin key stays, and a refused revoke changes nothing.
		wantTxCode(t, s, workunits.ECONFLICT, func(tx store.Tx) error {
			_, err := tx.APIKeyRevoke(t.Context(), p.ID, adminKey.ID, t0)
			return err
		})
		wantTxCode(t, s, workunits.ENOTFOUND, func(tx store.Tx) error {
			_, err := tx.APIKeyRevoke(t.Context(), q.ID, key.ID, t0)
			return err
		})
		later := t0.Add(time.Minute)
		inTx(t, s, func(tx store.Tx, f *factory) error {
			_, err := tx.APIKeyGet(t.Context(), q.ID, key.ID)
			wantCode(t, err, workunits.ENOTFOUND)
			revoked, err := tx.APIKeyRevoke(t.Context(), p.ID, key.ID, later)
			if err != nil {
				return err
			}
			if !sameMS(revoked.RevokedAt, later) {
				t.Errorf("APIKeyRevoke = %+v, want RevokedAt %v", revoked, later)
			}
			again, err := tx.APIKeyRevoke(t.Context(), p.ID, key.ID, later.Add(time.Hour))
			if err != nil || !sameMS(again.RevokedAt, later) {
				t.Errorf("revoking again = %+v, %v; want RevokedAt unchanged %v", again, err, later)
			}
			byHash, err := tx.APIKeyGetByHash(t.Context(), "laptop-hash")
			if err != nil || !sameMS(byHash.RevokedAt, later) {
				t.Errorf("APIKeyGetByHash(revoked) = %+v, %v; want it, revoked at %v", byHash, err, later)
			}
			_, err = tx.ProjectGetByKeyHash(t.Context(), "laptop-hash")
			wantCode(t, err, workunits.ENOTFOUND)
			list, err := tx.APIKeyList(t.Context(), p.ID)
			if err != nil || len(list) != 2 || list[0] != adminKey || list[1].ID != key.ID || !list[1].Revoked() {
				t.Errorf("APIKeyList = %+v, %v; want the admin key then the revoked one", list, err)
			}
			other, err := tx.APIKeyList(t.Context(), q.ID)
			if err != nil || len(other) != 1 || other[0].ProjectID != q.ID {
				t.Errorf("APIKeyList(other project) = %+v, %v; want its own key only", other, err)
			}
			return nil
		})
	})

	// Two transactions each revoking one of a project's two admin keys:
	// one must win and the other find it was the last.
	t.Run("ConcurrentRevokeLastAdminKeys", func(t *testing.T) {
		s := setup(t, newStore)
		var p workunits.Project
		var keys [2]workunits.APIKey
		inTx(t, s, func(tx store.Tx, f *factory) error {
			p = f.Project()
			_, keys[0] = firstMember(t, tx, p.ID)
			keys[1] = f.Key(f.Member(p.ID, workunits.RoleAdmin), workunits.RoleAdmin)
			return nil
		})
		var errs [2]error
		var wg sync.WaitGroup
		for i := range keys {
			wg.Go(func() {
				errs[i] = s.InTx(t.Context(), func(tx store.Tx) error {
					_, err := tx.APIKeyRevoke(t.Context(), p.ID, keys[i].ID, t0)
					return err
				})
			})
		}
		wg.Wait()
		codes := map[workunits.Code]int{}
		for _, err := range errs {
			codes[workunits.ErrorCode(err)]++
		}
		if codes[""] != 1 || codes[workunits.ECONFLICT] != 1 {
			t.Errorf("concurrent revokes of the last two admin keys: errors %v, want one success and one conflict", errs)
		}
	})
}

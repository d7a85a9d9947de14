// Package service is the coordinator's application layer: it authenticates
// callers, runs each use case in one store transaction, and applies the
// pure rules of workunits and payouts. HTTP and the store sit on either side.
package service

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"log/slog"
	mathrand "math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/payouts"
	"github.com/nightshift-platform/nightshift/workunits"
)

// ModuleChecker tells whether bytes are a WebAssembly module the workers
// can run. It lives at the edge because checking means compiling.
type ModuleChecker func(ctx context.Context, module []byte) error

// Options configure a Service. Zero values are usable except Store.
type Options struct {
	Store       store.Store
	OperatorKey string // authorises creating and funding projects; empty disables both
	CheckModule ModuleChecker
	Now         func() time.Time
	Logger      *slog.Logger
	MaxBlobSize int64  // largest input blob; 0: DefaultMaxBlobSize
	TempDir     string // where uploads wait while hashed; "": os.TempDir()
	// Rand draws uniformly from [0, 1) for adaptive replication's
	// decisions (workunits.Decide); nil: math/rand/v2.
	Rand func() float64
	// PayoutThreshold is the least a contributor is paid in a payout run
	// that names no threshold; 0: DefaultPayoutThreshold.
	PayoutThreshold int64
	// PlatformFeeBPS is the platform's fee on every posted reward, in basis
	// points (250 = 2.5%), 0 to payouts.MaxFeeBPS. It is fixed for a task
	// when its post is queued.
	PlatformFeeBPS int
	// PasswordCost is bcrypt's work factor for dashboard passwords; 0:
	// DefaultPasswordCost. Tests lower it to bcrypt.MinCost.
	PasswordCost int
	// Observer is told of leases, reports, judged results, payout runs
	// and background passes, for metrics; nil: nobody.
	Observer Observer
}

// Service implements every coordinator use case.
type Service struct {
	store           store.Store
	operatorKeyHash string
	checkModule     ModuleChecker
	clock           func() time.Time
	log             *slog.Logger
	hosts           hostCache
	benchmarks      sync.Map // host id → ops/s this coordinator last stored (credit.go)
	maxBlobSize     int64
	tempDir         string
	rand            func() float64
	payoutThreshold int64
	platformFeeBPS  int
	obs             Observer

	// Web accounts (web_accounts.go).
	passwordCostOpt int
	logins          loginLimiter
	dummyOnce       sync.Once
	dummy           []byte
}

// New returns a Service over the given store.
func New(o Options) *Service {
	s := &Service{store: o.Store, checkModule: o.CheckModule, clock: o.Now, log: o.Logger, maxBlobSize: o.MaxBlobSize, tempDir: o.TempDir,
		rand: o.Rand, platformFeeBPS: min(max(o.PlatformFeeBPS, 0), payouts.MaxFeeBPS)}
	s.passwordCostOpt = o.PasswordCost
	if s.payoutThreshold = o.PayoutThreshold; s.payoutThreshold <= 0 {
		s.payoutThreshold = DefaultPayoutThreshold
	}
	if s.maxBlobSize <= 0 {
		s.maxBlobSize = DefaultMaxBlobSize
	}
	if o.OperatorKey != "" {
		s.operatorKeyHash = hashKey(o.OperatorKey)
	}
	if s.clock == nil {
		s.clock = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.rand == nil {
		s.rand = mathrand.Float64
	}
	if s.obs = o.Observer; s.obs == nil {
		s.obs = nopObserver{}
	}
	if s.checkModule == nil {
		s.checkModule = func(context.Context, []byte) error { return nil }
	}
	return s
}

// now is truncated to the store's millisecond resolution so that what is
// compared in memory equals what is read back.
func (s *Service) now() time.Time { return s.clock().UTC().Truncate(time.Millisecond) }

// Key prefixes tell a person which kind of secret they hold.
const (
	ProjectKeyPrefix     = "nsp_"
	ContributorKeyPrefix = "nsa_"
	HostTokenPrefix      = "nsh_"
	OperatorKeyPrefix    = "nso_"
)

// NewKey returns a fresh random secret with the given prefix.
func NewKey(prefix string) string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand failed: " + err.Error()) // never returns an error on supported platforms
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// hashKey is what the store keeps instead of a key: the keys are random and
// long, so a plain SHA-256 is enough and lets lookups use an index.
func hashKey(key string) string { return workunits.Hash([]byte(key)) }

var errMissingKey = workunits.Errorf(workunits.EUNAUTHORIZED, "missing credentials: send 'Authorization: Bearer <key>'")

// authError turns a failed key lookup into an unauthorised error, keeping
// real failures as they are.
func authError(err error, what string) error {
	if workunits.ErrorCode(err) == workunits.ENOTFOUND {
		return workunits.Errorf(workunits.EUNAUTHORIZED, "invalid %s", what)
	}
	return err
}

// CheckOperator authorises operator-only actions.
func (s *Service) CheckOperator(key string) error {
	if key == "" {
		return errMissingKey
	}
	if s.operatorKeyHash == "" || subtle.ConstantTimeCompare([]byte(hashKey(key)), []byte(s.operatorKeyHash)) != 1 {
		return workunits.Errorf(workunits.EUNAUTHORIZED, "invalid operator key")
	}
	return nil
}

// AuthContributor finds the contributor an account key belongs to.
func (s *Service) AuthContributor(ctx context.Context, key string) (workunits.Contributor, error) {
	if !strings.HasPrefix(key, ContributorKeyPrefix) {
		if key == "" {
			return workunits.Contributor{}, errMissingKey
		}
		return workunits.Contributor{}, workunits.Errorf(workunits.EUNAUTHORIZED, "invalid account key (account keys start with %q)", ContributorKeyPrefix)
	}
	var c workunits.Contributor
	err := s.store.InReadTx(ctx, func(tx store.Tx) (err error) {
		c, err = tx.ContributorGetByKeyHash(ctx, hashKey(key))
		return err
	})
	return c, authError(err, "account key")
}

// AuthHost finds the host a host token belongs to and notes the contact.
// Hosts ask often, so a known token is answered from memory, an unknown
// one from a read-only transaction, and contacts are written in batches by
// FlushContacts: a host's last contact lags by at most one background
// interval.
func (s *Service) AuthHost(ctx context.Context, token string) (workunits.Host, error) {
	if !strings.HasPrefix(token, HostTokenPrefix) {
		if token == "" {
			return workunits.Host{}, errMissingKey
		}
		return workunits.Host{}, workunits.Errorf(workunits.EUNAUTHORIZED, "invalid host token (host tokens start with %q)", HostTokenPrefix)
	}
	tokenHash := hashKey(token)
	now := s.now()
	if h, ok := s.hosts.contact(tokenHash, now); ok {
		return h, nil
	}
	var h workunits.Host
	err := s.store.InReadTx(ctx, func(tx store.Tx) (err error) {
		h, err = tx.HostGetByTokenHash(ctx, tokenHash)
		return err
	})
	if err != nil {
		return h, authError(err, "host token")
	}
	s.hosts.add(tokenHash, h, now)
	h.LastContactAt = now
	return h, nil
}

// FlushContacts writes the host contacts noted since the last flush.
func (s *Service) FlushContacts(ctx context.Context) error {
	contacts := s.hosts.takeContacts()
	if len(contacts) == 0 {
		return nil
	}
	err := s.store.InTx(ctx, func(tx store.Tx) error { return tx.HostTouchMany(ctx, contacts) })
	if err != nil {
		s.hosts.returnContacts(contacts)
		return fmt.Errorf("writing contacts of %d hosts: %w", len(contacts), err)
	}
	return nil
}

// hostCache remembers authenticated hosts for a while and the contacts
// not yet written. A host and its token never change, so the time limit
// only bounds how long a host removed later would still be let in.
type hostCache struct {
	mu       sync.Mutex
	byToken  map[string]cachedHost
	contacts map[int64]time.Time
}

type cachedHost struct {
	host    workunits.Host
	addedAt time.Time
}

const (
	hostCacheTTL  = time.Minute
	hostCacheSize = 200_000 // about 60 MB at most; a full cache starts over
)

func (c *hostCache) contact(tokenHash string, now time.Time) (workunits.Host, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byToken[tokenHash]
	if !ok || now.Sub(e.addedAt) > hostCacheTTL {
		return workunits.Host{}, false
	}
	if c.contacts == nil {
		c.contacts = map[int64]time.Time{}
	}
	c.contacts[e.host.ID] = now
	h := e.host
	h.LastContactAt = now
	return h, true
}

// add remembers a host just read from the store, and its contact now.
func (c *hostCache) add(tokenHash string, h workunits.Host, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byToken == nil || len(c.byToken) >= hostCacheSize {
		c.byToken = map[string]cachedHost{}
	}
	c.byToken[tokenHash] = cachedHost{host: h, addedAt: now}
	if c.contacts == nil {
		c.contacts = map[int64]time.Time{}
	}
	if now.After(c.contacts[h.ID]) {
		c.contacts[h.ID] = now
	}
}

func (c *hostCache) takeContacts() map[int64]time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.contacts
	c.contacts = nil
	return out
}

// returnContacts puts back contacts that could not be written, keeping any
// later contact noted meanwhile.
func (c *hostCache) returnContacts(contacts map[int64]time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.contacts == nil {
		c.contacts = map[int64]time.Time{}
	}
	for id, at := range contacts {
		if at.After(c.contacts[id]) {
			c.contacts[id] = at
		}
	}
}

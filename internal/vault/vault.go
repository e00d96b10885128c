// Package vault encrypts billing keys and channel secrets at rest with
// envelope encryption: a master key (from BILLKEY_MASTER_KEY or a key file)
// wraps one data key per merchant, and each data key encrypts that merchant's
// secrets with AES-256-GCM. Every ciphertext records the data-key version it
// was sealed with, and every wrapped data key records its master-key version,
// so master keys rotate by re-wrapping data keys only (see Rotate).
//
// Merchant id 0 holds billkey's own secrets (the token-derivation key).
package vault

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"billkey/internal/store"
)

// SystemMerchant is the pseudo-merchant whose data key seals billkey's own secrets.
const SystemMerchant = 0

const formatV1 = 1

// ErrDecrypt means a ciphertext could not be opened (wrong key, tampered, or
// sealed for another merchant or purpose).
var ErrDecrypt = errors.New("vault: cannot decrypt")

// Keyring is a set of master keys by version; the highest version is current.
type Keyring map[int][]byte

// Current returns the newest version.
func (k Keyring) Current() int {
	cur := 0
	for v := range k {
		if v > cur {
			cur = v
		}
	}
	return cur
}

// ParseKeyring reads "base64" (version 1) or "N:base64[,N:base64...]" (also
// one per line). Each key is 32 bytes.
func ParseKeyring(s string) (Keyring, error) {
	ring := Keyring{}
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' || r == ' ' || r == '\r' })
	for _, f := range fields {
		ver, b64 := 1, f
		if i := strings.IndexByte(f, ':'); i > 0 {
			v, err := strconv.Atoi(f[:i])
			if err != nil || v <= 0 {
				return nil, fmt.Errorf("vault: bad key version %q", f[:i])
			}
			ver, b64 = v, f[i+1:]
		}
		key, err := base64.StdEncoding.DecodeString(b64)
		if err != nil || len(key) != 32 {
			return nil, fmt.Errorf("vault: master key version %d must be 32 bytes of base64", ver)
		}
		ring[ver] = key
	}
	if len(ring) == 0 {
		return nil, errors.New("vault: no master key")
	}
	return ring, nil
}

// Format writes a keyring in the file format ParseKeyring reads.
func (k Keyring) Format() string {
	vs := make([]int, 0, len(k))
	for v := range k {
		vs = append(vs, v)
	}
	sort.Ints(vs)
	var b strings.Builder
	for _, v := range vs {
		fmt.Fprintf(&b, "%d:%s\n", v, base64.StdEncoding.EncodeToString(k[v]))
	}
	return b.String()
}

// NewKey returns 32 random bytes.
func NewKey() []byte {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		panic(err)
	}
	return k
}

// LoadOrCreateKeyFile reads a keyring file, creating it (0600, one fresh key)
// when absent. created reports that it did.
func LoadOrCreateKeyFile(path string) (ring Keyring, created bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		ring = Keyring{1: NewKey()}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, false, err
		}
		defer f.Close()
		if _, err := f.WriteString(ring.Format()); err != nil {
			return nil, false, err
		}
		return ring, true, f.Sync()
	}
	if err != nil {
		return nil, false, err
	}
	ring, err = ParseKeyring(string(b))
	return ring, false, err
}

// Vault seals and opens secrets. Safe for concurrent use.
type Vault struct {
	st      *store.Store
	reload  func() (Keyring, error) // re-read the keyring when a version is unknown (after rotation)
	mu      sync.RWMutex
	ring    Keyring
	dataKey map[int64]map[int]cipher.AEAD // merchant → version → AEAD
	current map[int64]int                 // merchant → newest data-key version
}

// New returns a vault over st with the given keyring; reload may be nil.
func New(st *store.Store, ring Keyring, reload func() (Keyring, error)) *Vault {
	return &Vault{st: st, ring: ring, reload: reload, dataKey: map[int64]map[int]cipher.AEAD{}, current: map[int64]int{}}
}

func gcm(key []byte) cipher.AEAD {
	block, err := aes.NewCipher(key)
	if err != nil {
		panic(err) // key length is checked everywhere keys come from
	}
	a, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return a
}

func (v *Vault) master(ver int) (cipher.AEAD, error) {
	v.mu.RLock()
	key, ok := v.ring[ver]
	v.mu.RUnlock()
	if !ok && v.reload != nil {
		ring, err := v.reload()
		if err != nil {
			return nil, err
		}
		v.mu.Lock()
		v.ring = ring
		v.mu.Unlock()
		key, ok = ring[ver]
	}
	if !ok {
		return nil, fmt.Errorf("vault: master key version %d not in the keyring", ver)
	}
	return gcm(key), nil
}

func wrapAAD(merchantID int64, ver int) []byte {
	return []byte(fmt.Sprintf("billkey-dk|%d|%d", merchantID, ver))
}

// loadDataKeys fills the cache for a merchant from the database.
func (v *Vault) loadDataKeys(ctx context.Context, merchantID int64) error {
	keys, err := v.st.Read().DataKeys(ctx, merchantID)
	if err != nil {
		return err
	}
	m := map[int]cipher.AEAD{}
	cur := 0
	for _, k := range keys {
		mk, err := v.master(k.MasterVersion)
		if err != nil {
			return err
		}
		if len(k.Wrapped) < mk.NonceSize() {
			return ErrDecrypt
		}
		raw, err := mk.Open(nil, k.Wrapped[:mk.NonceSize()], k.Wrapped[mk.NonceSize():], wrapAAD(merchantID, k.Version))
		if err != nil {
			return fmt.Errorf("vault: unwrap data key %d/%d: %w", merchantID, k.Version, ErrDecrypt)
		}
		m[k.Version] = gcm(raw)
		if k.Version > cur {
			cur = k.Version
		}
	}
	if cur == 0 {
		return nil
	}
	v.mu.Lock()
	v.dataKey[merchantID] = m
	v.current[merchantID] = cur
	v.mu.Unlock()
	return nil
}

// dataKeyFor returns the AEAD for (merchant, version); version 0 = current,
// creating the merchant's first data key if it has none.
func (v *Vault) dataKeyFor(ctx context.Context, merchantID int64, version int) (cipher.AEAD, int, error) {
	for attempt := 0; attempt < 3; attempt++ {
		v.mu.RLock()
		ver := version
		if ver == 0 {
			ver = v.current[merchantID]
		}
		a := v.dataKey[merchantID][ver]
		v.mu.RUnlock()
		if a != nil {
			return a, ver, nil
		}
		if err := v.loadDataKeys(ctx, merchantID); err != nil {
			return nil, 0, err
		}
		v.mu.RLock()
		_, have := v.current[merchantID]
		v.mu.RUnlock()
		if !have && version == 0 {
			if err := v.createDataKey(ctx, merchantID, 1); err != nil && !errors.Is(err, store.ErrConflict) {
				return nil, 0, err
			}
		} else if version != 0 && attempt > 0 {
			break
		}
	}
	return nil, 0, fmt.Errorf("vault: data key %d of merchant %d: %w", version, merchantID, ErrDecrypt)
}

func (v *Vault) createDataKey(ctx context.Context, merchantID int64, version int) error {
	// New data keys go under the newest master version: re-read the keyring
	// (rare: once per merchant) so a rotation done by another process counts.
	if v.reload != nil {
		if ring, err := v.reload(); err == nil {
			v.mu.Lock()
			v.ring = ring
			v.mu.Unlock()
		}
	}
	v.mu.RLock()
	mver := v.ring.Current()
	v.mu.RUnlock()
	mk, err := v.master(mver)
	if err != nil {
		return err
	}
	nonce := make([]byte, mk.NonceSize())
	rand.Read(nonce)
	wrapped := mk.Seal(nonce, nonce, NewKey(), wrapAAD(merchantID, version))
	return v.st.Write(ctx, func(q store.Q) error {
		return q.InsertDataKey(ctx, store.DataKey{MerchantID: merchantID, Version: version, MasterVersion: mver,
			Wrapped: wrapped, CreatedAt: time.Now().Unix()})
	})
}

func sealAAD(merchantID int64, purpose string) []byte {
	return []byte(fmt.Sprintf("billkey|%d|%s", merchantID, purpose))
}

// Seal encrypts plaintext for a merchant. purpose binds the ciphertext to its
// use (e.g. "billing-key"): it only opens with the same merchant and purpose.
func (v *Vault) Seal(ctx context.Context, merchantID int64, purpose string, plaintext []byte) ([]byte, error) {
	a, ver, err := v.dataKeyFor(ctx, merchantID, 0)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 5, 5+a.NonceSize()+len(plaintext)+a.Overhead())
	out[0] = formatV1
	binary.BigEndian.PutUint32(out[1:5], uint32(ver))
	nonce := make([]byte, a.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	out = append(out, nonce...)
	return a.Seal(out, nonce, plaintext, sealAAD(merchantID, purpose)), nil
}

// Open decrypts what Seal produced for the same merchant and purpose.
func (v *Vault) Open(ctx context.Context, merchantID int64, purpose string, ct []byte) ([]byte, error) {
	if len(ct) < 5 || ct[0] != formatV1 {
		return nil, ErrDecrypt
	}
	ver := int(binary.BigEndian.Uint32(ct[1:5]))
	a, _, err := v.dataKeyFor(ctx, merchantID, ver)
	if err != nil {
		return nil, err
	}
	body := ct[5:]
	if len(body) < a.NonceSize()+a.Overhead() {
		return nil, ErrDecrypt
	}
	pt, err := a.Open(nil, body[:a.NonceSize()], body[a.NonceSize():], sealAAD(merchantID, purpose))
	if err != nil {
		return nil, ErrDecrypt
	}
	return pt, nil
}

// Rewrap re-wraps every data key not yet under the ring's current master
// version with it, in one transaction, and returns how many it changed. The
// data keys themselves, and so every ciphertext, stay as they are; running
// servers keep their unwrapped data keys and find the new master version by
// reloading the keyring when they meet it. Rotation is: add a new version to
// the keyring, persist the keyring, then Rewrap (idempotent: run it again
// after a crash).
func Rewrap(ctx context.Context, st *store.Store, ring Keyring) (int, error) {
	newVer := ring.Current()
	newMaster := gcm(ring[newVer])
	n := 0
	err := st.Write(ctx, func(q store.Q) error {
		keys, err := q.AllDataKeys(ctx)
		if err != nil {
			return err
		}
		n = 0
		for _, k := range keys {
			if k.MasterVersion == newVer {
				continue
			}
			old, ok := ring[k.MasterVersion]
			if !ok {
				return fmt.Errorf("vault: data key %d/%d is wrapped by master version %d, not in the keyring", k.MerchantID, k.Version, k.MasterVersion)
			}
			om := gcm(old)
			if len(k.Wrapped) < om.NonceSize() {
				return ErrDecrypt
			}
			raw, err := om.Open(nil, k.Wrapped[:om.NonceSize()], k.Wrapped[om.NonceSize():], wrapAAD(k.MerchantID, k.Version))
			if err != nil {
				return fmt.Errorf("vault: unwrap data key %d/%d: %w", k.MerchantID, k.Version, ErrDecrypt)
			}
			nonce := make([]byte, newMaster.NonceSize())
			if _, err := rand.Read(nonce); err != nil {
				return err
			}
			k.Wrapped = newMaster.Seal(nonce, nonce, raw, wrapAAD(k.MerchantID, k.Version))
			k.MasterVersion = newVer
			if err := q.RewrapDataKey(ctx, k); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

// WriteKeyFile replaces the keyring file atomically (0600).
func WriteKeyFile(path string, ring Keyring) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(ring.Format()); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

package auth

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"time"
)

// FlashTTL is how long a sealed flash message can be opened.
const FlashTTL = time.Minute

// SealFlash returns msg sealed for the flash cookie of session s
// (AES-256-GCM with a key derived from the newest session key): the
// browser can neither read nor change it, and it opens only for the same
// session, within FlashTTL. It returns "" when the key ring has no valid
// key.
func (m *Sessions) SealFlash(s Session, msg []byte) string {
	keys := m.keys()
	if CheckKeys(keys) != nil {
		return ""
	}
	aead, err := flashAEAD(keys[0])
	if err != nil {
		return ""
	}
	plain := binary.BigEndian.AppendUint64(nil, uint64(m.now().Add(FlashTTL).Unix()))
	plain = append(plain, msg...)
	nonce := make([]byte, aead.NonceSize())
	_, _ = rand.Read(nonce) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(aead.Seal(nonce, nonce, plain, flashAD(s)))
}

// OpenFlash returns the message of a flash cookie value sealed by SealFlash
// for session s with any key of the ring, and false when it was altered,
// sealed for another session or by no key of the ring, or has expired.
func (m *Sessions) OpenFlash(s Session, value string) ([]byte, bool) {
	sealed, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil {
		return nil, false
	}
	for _, k := range m.keys() {
		if len(k) < MinKeyBytes {
			continue
		}
		aead, err := flashAEAD(k)
		if err != nil || len(sealed) < aead.NonceSize() {
			continue
		}
		plain, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], flashAD(s))
		if err != nil || len(plain) < 8 {
			continue
		}
		if !m.now().Before(time.Unix(int64(binary.BigEndian.Uint64(plain)), 0)) {
			return nil, false
		}
		return plain[8:], true
	}
	return nil, false
}

// flashAD binds a sealed flash to its session: its id, or, for a session
// without one, its organisation and member.
func flashAD(s Session) []byte {
	return []byte("billing_flash\x00" + s.ID + "\x00" + s.OrgID + "\x00" + s.Email)
}

// flashAEAD returns the cipher of the flash cookie for a session key, with
// its own derived key, so a flash can never pass for a session or a
// sign-in cookie.
func flashAEAD(sessionKey []byte) (cipher.AEAD, error) {
	return purposeAEAD(sessionKey, "billing-flash-v1")
}

// purposeAEAD returns AES-GCM keyed with a key derived (HKDF-SHA256) from
// a session key for one purpose: what one purpose seals, another cannot
// open.
func purposeAEAD(sessionKey []byte, purpose string) (cipher.AEAD, error) {
	key, err := hkdf.Key(sha256.New, sessionKey, nil, purpose, 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

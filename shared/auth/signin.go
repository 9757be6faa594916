package auth

import (
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"time"
)

// SignInCookieName is the cookie of a sign-in in flight with the identity
// provider. It is sent only to the callback.
const SignInCookieName = "billing_signin"

// signInPath is the only path the sign-in cookie is sent to.
const signInPath = "/auth/callback"

// signInTTL is how long a person has to sign in at the identity provider.
const signInTTL = 10 * time.Minute

// signIn is what the callback must find again: the state and nonce sent to
// the identity provider, the PKCE verifier of the challenge sent with
// them, and the page to return to.
type signIn struct {
	State    string    `json:"s"`
	Nonce    string    `json:"n"`
	Verifier string    `json:"v"`
	Next     string    `json:"r"`
	Expires  time.Time `json:"x"`
}

// issueSignIn sets the sign-in cookie for s, valid for 10 minutes. Its
// value is sealed (AES-256-GCM, with a key derived from the newest session
// key; any key of the ring opens it),
// so the browser can neither read the PKCE verifier nor change anything.
// The cookie is HttpOnly, SameSite=Lax (the identity provider's redirect
// back is a top-level GET) and, in AWS, Secure.
func (m *Sessions) issueSignIn(w http.ResponseWriter, s signIn) error {
	s.Expires = m.now().Add(signInTTL).UTC().Truncate(time.Second)
	payload, err := json.Marshal(s)
	if err != nil {
		return err
	}
	keys := m.keys()
	if CheckKeys(keys) != nil {
		return errors.New("issue sign-in: the key ring has no valid signing key")
	}
	aead, err := signInAEAD(keys[0])
	if err != nil {
		return err
	}
	nonce := make([]byte, aead.NonceSize())
	_, _ = rand.Read(nonce) // crypto/rand.Read never fails
	sealed := aead.Seal(nonce, nonce, payload, []byte(SignInCookieName))
	http.SetCookie(w, m.signInCookie(base64.RawURLEncoding.EncodeToString(sealed), s.Expires, int(signInTTL/time.Second)))
	return nil
}

// readSignIn returns the sign-in of the request's cookie, and false when
// there is none, it was altered, or it has expired.
func (m *Sessions) readSignIn(r *http.Request) (signIn, bool) {
	c, err := r.Cookie(SignInCookieName)
	if err != nil {
		return signIn{}, false
	}
	sealed, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil {
		return signIn{}, false
	}
	payload, ok := m.openSignIn(sealed)
	if !ok {
		return signIn{}, false
	}
	var s signIn
	if err := json.Unmarshal(payload, &s); err != nil || !m.now().Before(s.Expires) {
		return signIn{}, false
	}
	return s, true
}

// clearSignIn removes the sign-in cookie: each sign-in is used once.
func (m *Sessions) clearSignIn(w http.ResponseWriter) {
	http.SetCookie(w, m.signInCookie("", time.Unix(0, 0), -1))
}

// openSignIn opens a sealed sign-in with any key of the ring, so a key
// rotated during a sign-in does not fail it.
func (m *Sessions) openSignIn(sealed []byte) ([]byte, bool) {
	for _, k := range m.keys() {
		if len(k) < MinKeyBytes {
			continue
		}
		aead, err := signInAEAD(k)
		if err != nil || len(sealed) < aead.NonceSize() {
			continue
		}
		payload, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], []byte(SignInCookieName))
		if err == nil {
			return payload, true
		}
	}
	return nil, false
}

// signInAEAD returns the cipher of the sign-in cookie for a session key.
// Its key is derived from the session key for this one purpose, so a
// sign-in cookie can never pass for a session or the other way round.
func signInAEAD(sessionKey []byte) (cipher.AEAD, error) {
	return purposeAEAD(sessionKey, "billing-signin-v1")
}

func (m *Sessions) signInCookie(value string, expires time.Time, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name: SignInCookieName, Value: value, Path: signInPath, Expires: expires, MaxAge: maxAge,
		HttpOnly: true, Secure: m.secure, SameSite: http.SameSiteLaxMode,
	}
}

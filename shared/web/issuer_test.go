package web_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// issuer is an OpenID Connect provider the tests run, written from the
// specs rather than with the code under test: discovery, a JWKS with an RSA
// key made per test, an authorize endpoint that signs in its user at once
// and redirects back with a code, a token endpoint that redeems a code once,
// only with the PKCE verifier of its S256 challenge, and answers with an ID
// token it signs, and an end-session endpoint.
type issuer struct {
	t   *testing.T
	srv *httptest.Server
	now func() time.Time
	key *rsa.PrivateKey

	clientID, clientSecret string // clientSecret "" is a public client
	redirectURI            string

	mu          sync.Mutex
	user        map[string]any // the claims of who signs in at /authorize
	grants      map[string]grant
	discoveries int
	down        bool
	// noEndSession leaves end_session_endpoint out of discovery.
	noEndSession bool
	// tamper, when set, changes the claims of the ID tokens issued next.
	tamper func(claims map[string]any)
	// signKey, when set, signs the ID tokens issued next instead of key
	// (with key's id).
	signKey *rsa.PrivateKey
	// secrets are the codes, tokens and PKCE verifiers the issuer saw.
	secrets []string
}

// grant is a code the authorize endpoint gave out, and what it binds.
type grant struct {
	challenge, nonce, redirectURI string
	user                          map[string]any
}

const issuerKeyID = "test-key-1"

// newIssuer starts an issuer for the client clientID (with clientSecret,
// "" for a public client) that redirects to redirectURI, on the clock now.
func newIssuer(t *testing.T, now func() time.Time, clientID, clientSecret, redirectURI string) *issuer {
	t.Helper()
	i := &issuer{t: t, now: now, key: newRSAKey(t), clientID: clientID, clientSecret: clientSecret,
		redirectURI: redirectURI, grants: map[string]grant{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", i.discovery)
	mux.HandleFunc("GET /jwks", i.jwks)
	mux.HandleFunc("GET /authorize", i.authorize)
	mux.HandleFunc("POST /token", i.token)
	mux.HandleFunc("GET /logout", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	i.srv = httptest.NewServer(mux)
	t.Cleanup(i.srv.Close)
	return i
}

func newRSAKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// signInAs sets who signs in at the authorize endpoint: the claims of
// their ID token besides iss, aud, sub, exp, iat and nonce.
func (i *issuer) signInAs(claims map[string]any) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.user = maps.Clone(claims)
}

// setTamper changes the claims of the ID tokens issued from now on.
func (i *issuer) setTamper(f func(map[string]any)) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.tamper = f
}

// setSignKey signs the ID tokens issued from now on with key.
func (i *issuer) setSignKey(key *rsa.PrivateKey) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.signKey = key
}

func (i *issuer) setNoEndSession() {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.noEndSession = true
}

func (i *issuer) setDown(down bool) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.down = down
}

// discoveryCount is how often the discovery document was fetched.
func (i *issuer) discoveryCount() int {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.discoveries
}

// issued returns the codes, tokens and verifiers seen so far.
func (i *issuer) issued() []string {
	i.mu.Lock()
	defer i.mu.Unlock()
	return slices.Clone(i.secrets)
}

func (i *issuer) discovery(w http.ResponseWriter, r *http.Request) {
	i.mu.Lock()
	i.discoveries++
	down, noEndSession := i.down, i.noEndSession
	i.mu.Unlock()
	if down {
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
		return
	}
	doc := map[string]any{
		"issuer":                                i.srv.URL,
		"authorization_endpoint":                i.srv.URL + "/authorize",
		"token_endpoint":                        i.srv.URL + "/token",
		"jwks_uri":                              i.srv.URL + "/jwks",
		"end_session_endpoint":                  i.srv.URL + "/logout",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"code_challenge_methods_supported":      []string{"S256"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "none"},
	}
	if noEndSession {
		delete(doc, "end_session_endpoint")
	}
	writeJSON(w, http.StatusOK, doc)
}

func (i *issuer) jwks(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: &i.key.PublicKey, KeyID: issuerKeyID, Algorithm: string(jose.RS256), Use: "sig"},
	}})
}

// authorize checks the authorization request of the code flow with PKCE
// and redirects back at once with a code for the user.
func (i *issuer) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var problems []string
	for k, want := range map[string]string{"response_type": "code", "client_id": i.clientID, "redirect_uri": i.redirectURI, "code_challenge_method": "S256"} {
		if q.Get(k) != want {
			problems = append(problems, k+"="+q.Get(k))
		}
	}
	if !slices.Contains(strings.Fields(q.Get("scope")), "openid") {
		problems = append(problems, "scope without openid")
	}
	for _, k := range []string{"state", "nonce", "code_challenge"} {
		if len(q.Get(k)) < 43 {
			problems = append(problems, k+" shorter than 43 characters")
		}
	}
	if q.Has("code_verifier") {
		problems = append(problems, "the verifier itself was sent")
	}
	if len(problems) > 0 {
		i.t.Errorf("bad authorization request: %v", problems)
		http.Error(w, "invalid_request", http.StatusBadRequest)
		return
	}
	code := "code_" + randomToken()
	i.mu.Lock()
	i.grants[code] = grant{challenge: q.Get("code_challenge"), nonce: q.Get("nonce"), redirectURI: q.Get("redirect_uri"), user: maps.Clone(i.user)}
	i.secrets = append(i.secrets, code)
	i.mu.Unlock()
	back := url.Values{"code": {code}, "state": {q.Get("state")}}
	http.Redirect(w, r, q.Get("redirect_uri")+"?"+back.Encode(), http.StatusFound)
}

// token redeems a code once, for its client, with the verifier of its
// challenge, and answers with tokens.
func (i *issuer) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request"})
		return
	}
	id, secret, basic := r.BasicAuth()
	if !basic {
		id = r.PostForm.Get("client_id")
	}
	if id != i.clientID || secret != i.clientSecret || (i.clientSecret != "" && !basic) {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
		return
	}
	code := r.PostForm.Get("code")
	i.mu.Lock()
	g, ok := i.grants[code]
	delete(i.grants, code)
	tamper, signKey := i.tamper, i.signKey
	i.mu.Unlock()
	verifier := r.PostForm.Get("code_verifier")
	sum := sha256.Sum256([]byte(verifier))
	switch {
	case r.PostForm.Get("grant_type") != "authorization_code" || !ok || r.PostForm.Get("redirect_uri") != g.redirectURI:
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant", "error_description": "unknown or used code"})
		return
	case verifier == "" || base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge:
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant", "error_description": "PKCE verification failed"})
		return
	}
	now := i.now()
	claims := maps.Clone(g.user)
	maps.Copy(claims, map[string]any{
		"iss": i.srv.URL, "aud": i.clientID, "sub": "user-" + code[len(code)-8:], "nonce": g.nonce,
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "token_use": "id",
	})
	if tamper != nil {
		tamper(claims)
	}
	if signKey == nil {
		signKey = i.key
	}
	idToken := signJWT(i.t, signKey, claims)
	access, refresh := "at_"+randomToken(), "rt_"+randomToken()
	i.mu.Lock()
	i.secrets = append(i.secrets, idToken, access, refresh, verifier)
	i.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": access, "refresh_token": refresh, "id_token": idToken, "token_type": "Bearer", "expires_in": 3600,
	})
}

// signJWT signs claims with key as an RS256 JWT naming the issuer's key id.
func signJWT(t *testing.T, key *rsa.PrivateKey, claims map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: issuerKeyID}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func randomToken() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

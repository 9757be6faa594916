package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/acme/billing/shared/billing"
)

// Default claims of the organisation and the role: Amazon Cognito's custom
// attributes, which it puts in the ID token.
const (
	DefaultOrgClaim  = "custom:org"
	DefaultRoleClaim = "custom:role"
)

// OIDCConfig configures sign-in with an OpenID Connect provider.
type OIDCConfig struct {
	// Issuer is the provider's issuer URL, exactly as its ID tokens name it
	// (for Cognito https://cognito-idp.<region>.amazonaws.com/<pool id>).
	Issuer string
	// ClientID is this application's client id: the ID token's audience.
	ClientID string
	// ClientSecret authenticates a confidential client at the token
	// endpoint (HTTP Basic). Public clients have none; PKCE protects them.
	ClientSecret string
	// PublicURL is where the Billing section is served, like
	// https://billing.example.com. The provider sends people back to
	// PublicURL/auth/callback, and after signing out to PublicURL/auth/login.
	PublicURL string
	// OrgClaim and RoleClaim name the ID token claims holding the
	// organisation id and the role (admin or viewer). Empty means
	// DefaultOrgClaim and DefaultRoleClaim.
	OrgClaim  string
	RoleClaim string
	// HTTPClient talks to the provider; nil means a client with a 10 second
	// timeout.
	HTTPClient *http.Client
}

// OIDC is the relying party of an OpenID Connect provider: the
// authorization-code flow with PKCE (S256), state and nonce. The provider's
// discovery document is fetched on first use, not at start-up, and kept.
type OIDC struct {
	cfg      OIDCConfig
	sessions *Sessions
	client   *http.Client

	mu         sync.Mutex
	provider   *oidc.Provider
	verifier   *oidc.IDTokenVerifier
	endSession string
}

// NewOIDC returns the relying party configured by cfg. It keeps the sign-in
// in flight in a cookie sealed with the key of sessions, and takes its clock.
// It returns an error when the issuer, client id or public URL is missing
// or not an absolute URL; it makes no request.
func NewOIDC(cfg OIDCConfig, sessions *Sessions) (*OIDC, error) {
	var errs []error
	if !absoluteURL(cfg.Issuer) {
		errs = append(errs, errors.New("OIDC issuer must be an absolute URL"))
	}
	if cfg.ClientID == "" {
		errs = append(errs, errors.New("OIDC client id is required"))
	}
	cfg.PublicURL = strings.TrimSuffix(cfg.PublicURL, "/")
	if !absoluteURL(cfg.PublicURL) {
		errs = append(errs, errors.New("public URL must be an absolute URL"))
	}
	if sessions == nil {
		errs = append(errs, errors.New("OIDC needs the sessions"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if cfg.OrgClaim == "" {
		cfg.OrgClaim = DefaultOrgClaim
	}
	if cfg.RoleClaim == "" {
		cfg.RoleClaim = DefaultRoleClaim
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	return &OIDC{cfg: cfg, sessions: sessions, client: client}, nil
}

func absoluteURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && u.RawQuery == "" && u.Fragment == ""
}

// Identity is who a verified ID token says signed in.
type Identity struct {
	OrgID string
	Email string
	Role  billing.Role
}

// Start begins a sign-in that returns to next (a path the caller has
// checked): it sets the sign-in cookie with a fresh state, nonce and PKCE
// verifier, and returns the provider's authorization URL to redirect to.
// It fails when the provider's discovery document cannot be fetched.
func (o *OIDC) Start(ctx context.Context, w http.ResponseWriter, next string) (string, error) {
	p, err := o.discover(ctx)
	if err != nil {
		return "", err
	}
	s := signIn{State: randomString(), Nonce: randomString(), Verifier: oauth2.GenerateVerifier(), Next: next}
	if err := o.sessions.issueSignIn(w, s); err != nil {
		return "", fmt.Errorf("issue sign-in cookie: %w", err)
	}
	return o.oauth2(p).AuthCodeURL(s.State, oidc.Nonce(s.Nonce), oauth2.S256ChallengeOption(s.Verifier)), nil
}

// Finish completes the sign-in the provider redirected back to r: it
// checks the state against the sign-in cookie (which it clears), redeems
// the code with the PKCE verifier, verifies the ID token (signature by the
// provider's JWKS, issuer, audience, expiry, nonce) and reads the
// organisation, role and email from its claims. It returns who signed in
// and the path to return to (also with an error, once the sign-in cookie
// was read, so that a new sign-in can return there).
//
// A refused sign-in is an EINVALID error (the flow itself: no or another
// sign-in cookie, wrong state, no code) or an EFORBIDDEN one (the provider
// refused, the token did not verify, a claim is missing or invalid),
// whose message is safe to show and whose text says why, for the log; it
// never holds the code or a token. A provider that cannot be reached is
// any other error.
func (o *OIDC) Finish(w http.ResponseWriter, r *http.Request) (Identity, string, error) {
	s, ok := o.sessions.readSignIn(r)
	o.sessions.clearSignIn(w)
	if !ok {
		return Identity{}, "", refuse(billing.EINVALID, "no valid sign-in cookie",
			"This sign-in has expired or was started in another browser, so it was refused. Please sign in again.")
	}
	q := r.URL.Query()
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(s.State)) != 1 {
		return Identity{}, s.Next, refuse(billing.EINVALID, "state does not match the sign-in cookie",
			"This sign-in was not started here, so it was refused. Please sign in again.")
	}
	if e := q.Get("error"); e != "" {
		if !isErrorCode(e) {
			e = "unknown"
		}
		return Identity{}, s.Next, refuse(billing.EFORBIDDEN, "the provider answered error "+e,
			"Your identity provider did not sign you in ("+e+"). Please sign in again, or ask your administrator for access.")
	}
	code := q.Get("code")
	if code == "" {
		return Identity{}, s.Next, refuse(billing.EINVALID, "no code", "The identity provider sent no sign-in code. Please sign in again.")
	}
	p, err := o.discover(r.Context())
	if err != nil {
		return Identity{}, s.Next, err
	}
	ctx := context.WithValue(r.Context(), oauth2.HTTPClient, o.client)
	tok, err := o.oauth2(p).Exchange(ctx, code, oauth2.VerifierOption(s.Verifier))
	if err != nil {
		// The error of a refusal quotes the token endpoint's answer; only
		// its status and error code go on.
		if re, ok := errors.AsType[*oauth2.RetrieveError](err); ok && re.Response != nil && re.Response.StatusCode < 500 {
			return Identity{}, s.Next, refuse(billing.EFORBIDDEN,
				fmt.Sprintf("the token endpoint refused the code: status %d, error %q", re.Response.StatusCode, re.ErrorCode),
				"Your identity provider refused this sign-in. Please sign in again.")
		}
		if re, ok := errors.AsType[*oauth2.RetrieveError](err); ok && re.Response != nil {
			return Identity{}, s.Next, fmt.Errorf("redeem the code: token endpoint status %d", re.Response.StatusCode)
		}
		return Identity{}, s.Next, fmt.Errorf("redeem the code: %w", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return Identity{}, s.Next, refuse(billing.EFORBIDDEN, "the token response has no ID token",
			"Your identity provider sent no ID token, so this sign-in was refused.")
	}
	const unverified = "Your sign-in could not be verified, so it was refused. Please sign in again."
	idt, err := o.verifier.Verify(r.Context(), raw)
	if err != nil {
		return Identity{}, s.Next, refuse(billing.EFORBIDDEN, "ID token: "+err.Error(), unverified)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(s.Nonce)) != 1 {
		return Identity{}, s.Next, refuse(billing.EFORBIDDEN, "ID token: nonce does not match the sign-in cookie", unverified)
	}
	id, err := o.identity(idt)
	if err != nil {
		return Identity{}, s.Next, err
	}
	return id, s.Next, nil
}

// isErrorCode reports whether e looks like an OAuth error code (RFC 6749
// §4.1.2.1), the only part of a provider's error answer that is shown
// back: 1–64 lower-case letters and underscores. (A loop, not a regular
// expression: ^[a-z_]{1,64}$ compiled at package initialisation cost
// every function 600 allocations at each cold start.)
func isErrorCode(e string) bool {
	if len(e) == 0 || len(e) > 64 {
		return false
	}
	for _, c := range []byte(e) {
		if (c < 'a' || c > 'z') && c != '_' {
			return false
		}
	}
	return true
}

// identity reads who signed in from the verified token's claims.
func (o *OIDC) identity(idt *oidc.IDToken) (Identity, error) {
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return Identity{}, refuse(billing.EFORBIDDEN, "ID token claims: "+err.Error(), "Your sign-in could not be verified, so it was refused.")
	}
	org, _ := claims[o.cfg.OrgClaim].(string)
	if org == "" {
		return Identity{}, refuse(billing.EFORBIDDEN, "ID token has no "+o.cfg.OrgClaim+" claim",
			"Your account is not linked to an organisation, so you cannot sign in to Billing. Ask your administrator to link it.")
	}
	if billing.ValidateOrgID(org) != nil {
		return Identity{}, refuse(billing.EFORBIDDEN, "ID token's "+o.cfg.OrgClaim+" claim is not a valid organisation id",
			"Your account's organisation is not a valid organisation id, so you cannot sign in to Billing. Ask your administrator to correct it.")
	}
	role, _ := claims[o.cfg.RoleClaim].(string)
	if r := billing.Role(role); !r.Valid() {
		return Identity{}, refuse(billing.EFORBIDDEN, "ID token's "+o.cfg.RoleClaim+" claim is not admin or viewer",
			"Your account has no Billing role (admin or viewer), so you cannot sign in to Billing. Ask your administrator to give you one.")
	}
	email, _ := claims["email"].(string)
	if billing.ValidateEmail("email", email) != nil {
		return Identity{}, refuse(billing.EFORBIDDEN, "ID token has no valid email claim",
			"Your account has no valid email address, so you cannot sign in to Billing. Ask your administrator to add one.")
	}
	if v, ok := claims["email_verified"]; ok && (v == false || v == "false") {
		return Identity{}, refuse(billing.EFORBIDDEN, "ID token's email is not verified",
			"Your email address is not verified yet, so you cannot sign in to Billing. Verify it with your identity provider first.")
	}
	return Identity{OrgID: org, Email: email, Role: billing.Role(role)}, nil
}

// LogoutURL returns where to send someone who signed out: the provider's
// end_session_endpoint, with client_id and both post_logout_redirect_uri
// (OpenID Connect RP-Initiated Logout) and logout_uri (Amazon Cognito's
// /logout) naming PublicURL/auth/login; "" when the provider has none. It
// fails when the discovery document cannot be fetched.
func (o *OIDC) LogoutURL(ctx context.Context) (string, error) {
	if _, err := o.discover(ctx); err != nil {
		return "", err
	}
	if o.endSession == "" {
		return "", nil
	}
	u, err := url.Parse(o.endSession)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return "", fmt.Errorf("end_session_endpoint %q is not a URL", o.endSession)
	}
	back := o.cfg.PublicURL + "/auth/login"
	q := u.Query()
	q.Set("client_id", o.cfg.ClientID)
	q.Set("post_logout_redirect_uri", back)
	q.Set("logout_uri", back)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// discover returns the provider, fetching its discovery document on first
// use. A failed fetch is not kept: the next request tries again.
func (o *OIDC) discover(ctx context.Context) (*oidc.Provider, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.provider != nil {
		return o.provider, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, o.client), o.cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("discover OIDC issuer %s: %w", o.cfg.Issuer, err)
	}
	var meta struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := p.Claims(&meta); err != nil {
		return nil, fmt.Errorf("discover OIDC issuer %s: %w", o.cfg.Issuer, err)
	}
	o.provider, o.endSession = p, meta.EndSession
	o.verifier = p.Verifier(&oidc.Config{ClientID: o.cfg.ClientID, Now: o.sessions.now})
	return p, nil
}

func (o *OIDC) oauth2(p *oidc.Provider) *oauth2.Config {
	ep := p.Endpoint()
	ep.AuthStyle = oauth2.AuthStyleInParams
	if o.cfg.ClientSecret != "" {
		ep.AuthStyle = oauth2.AuthStyleInHeader
	}
	return &oauth2.Config{
		ClientID: o.cfg.ClientID, ClientSecret: o.cfg.ClientSecret, Endpoint: ep,
		RedirectURL: o.cfg.PublicURL + "/auth/callback",
		Scopes:      []string{oidc.ScopeOpenID, "email"},
	}
}

// refuse returns a refused sign-in: the customer-safe message of code,
// wrapped in the reason for the log.
func refuse(code, reason, message string) error {
	return fmt.Errorf("sign-in refused: %s: %w", reason, &billing.Error{Code: code, Message: message})
}

// randomString returns 32 random bytes, base64url encoded.
func randomString() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

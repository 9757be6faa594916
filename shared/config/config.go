// Package config reads the configuration of every function and of the
// local server from the environment, once, and builds the handlers'
// dependencies from it. Nothing else reads the environment.
package config

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/acme/billing/shared/auth"
	"github.com/acme/billing/shared/events"
	"github.com/acme/billing/shared/invoicing"
	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/notify"
	"github.com/acme/billing/shared/payments"
	"github.com/acme/billing/shared/payments/sandbox"
	"github.com/acme/billing/shared/payments/stripeprovider"
	"github.com/acme/billing/shared/recharge"
	"github.com/acme/billing/shared/secrets"
	"github.com/acme/billing/shared/store"
	"github.com/acme/billing/shared/usage"
	"github.com/acme/billing/shared/web"
)

// Environment variables. README.md documents each; template.yaml sets them
// for every function.
const (
	EnvTableName      = "TABLE_NAME"
	EnvSessionKey     = "SESSION_KEY"
	EnvDynamoEndpoint = "AWS_ENDPOINT_URL_DYNAMODB"
	EnvTrialCredits   = "TRIAL_CREDITS"
	EnvOverageLimit   = "DEFAULT_OVERAGE_LIMIT"
	EnvLogLevel       = "LOG_LEVEL"
	EnvEventBus       = "EVENT_BUS_NAME"
	EnvUsageAPIKey    = "USAGE_API_KEY"
	EnvStripeSecret   = "STRIPE_SECRET_KEY"
	EnvStripePublic   = "STRIPE_PUBLISHABLE_KEY"
	EnvStripeWebhook  = "STRIPE_WEBHOOK_SECRET"
	EnvEmailFrom      = "EMAIL_FROM"
	// EnvStripeCrypto ("on" or "off", default off) offers crypto top-ups
	// through Stripe: set it on only once the Stripe account is approved
	// for crypto payments. The local sandbox always offers them.
	EnvStripeCrypto = "STRIPE_CRYPTO"

	// Secrets in AWS mode: the ARNs of Secrets Manager secrets, read at run
	// time (never the secret values in the Lambda's environment).
	// STRIPE_SECRET_ARN's secret is {"secret_key": "sk_…", "webhook_secret":
	// "whsec_…"} and replaces STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET;
	// SESSION_SECRET_ARN's is {"current": "<key>", "previous": "<older
	// keys, comma-separated>"} and replaces SESSION_KEY.
	EnvStripeSecretARN  = "STRIPE_SECRET_ARN"
	EnvSessionSecretARN = "SESSION_SECRET_ARN"

	// EnvPublicURL is the one public origin, like
	// https://billing.example.com: every absolute URL (Stripe return and
	// Checkout URLs, links in emails, the OIDC redirect) starts with it.
	// Required in AWS mode; the local server defaults it to its own address.
	EnvPublicURL = "PUBLIC_URL"

	// Sign-in with an OpenID Connect provider (AWS mode): configured when
	// OIDC_ISSUER is set, which then requires OIDC_CLIENT_ID.
	EnvOIDCIssuer       = "OIDC_ISSUER"
	EnvOIDCClientID     = "OIDC_CLIENT_ID"
	EnvOIDCClientSecret = "OIDC_CLIENT_SECRET"
	EnvOIDCOrgClaim     = "OIDC_ORG_CLAIM"
	EnvOIDCRoleClaim    = "OIDC_ROLE_CLAIM"

	// The seller on every invoice and receipt issued from now on: the
	// company selling the credits. Each defaults to invoicing's
	// DefaultSeller. SELLER_ADDRESS is its lines, separated by newlines
	// or " | ".
	EnvSellerName    = "SELLER_NAME"
	EnvSellerAddress = "SELLER_ADDRESS"
	EnvSellerEmail   = "SELLER_EMAIL"
	EnvSellerTaxID   = "SELLER_TAX_ID"
)

// Config is the configuration shared by every function.
type Config struct {
	// Local is local mode (the local server): development sign-in, plain
	// HTTP, a random session key when none is given.
	Local     bool
	TableName string
	// PublicURL is the one public origin, without a trailing slash (see
	// EnvPublicURL). Empty only in local mode before the local server sets
	// it to its own address.
	PublicURL string
	// SessionKey signs sessions when SessionSecretARN is empty: from
	// SESSION_KEY, or random in local mode.
	SessionKey []byte
	// SessionSecretARN and StripeSecretARN name the Secrets Manager secrets
	// of AWS mode (see LoadSecrets); never read in local mode.
	SessionSecretARN string
	StripeSecretARN  string
	DynamoEndpoint   string
	TrialCredits     money.Money
	OverageLimit     money.Money
	LogLevel         slog.Level
	// EventBus is the EventBridge bus billing events go to (AWS mode).
	EventBus string
	// UsageAPIKey is the usage API's bearer key (local mode; random when
	// unset). In AWS the usage API uses IAM authorization.
	UsageAPIKey string
	// StripeSecretKey selects Stripe as the payment provider; without it
	// (local mode only) the sandbox provider is used.
	StripeSecretKey      string
	StripePublishableKey string
	StripeWebhookSecret  string
	// StripeCrypto offers crypto top-ups through Stripe (EnvStripeCrypto).
	StripeCrypto bool
	// EmailFrom is the sender of notification emails (SES, AWS mode).
	EmailFrom string
	// OIDC is the sign-in with an OpenID Connect provider (AWS mode; not
	// configured when its Issuer is empty).
	OIDC auth.OIDCConfig
	// Seller is the seller recorded on the invoices and receipts issued
	// (the SELLER_* variables).
	Seller invoicing.Party
	// PastDueGrace is the grace period of the invoices issued
	// (EnvPastDueGraceDays).
	PastDueGrace time.Duration
}

// String never prints secrets, so a Config can be logged.
func (c Config) String() string {
	return fmt.Sprintf("config{local=%v table=%s endpoint=%q bus=%q public=%q stripe=%v stripe_secret=%q session_secret=%q oidc=%q}",
		c.Local, c.TableName, c.DynamoEndpoint, c.EventBus, c.PublicURL, c.StripeSecretKey != "" || c.StripeSecretARN != "", c.StripeSecretARN, c.SessionSecretARN, c.OIDC.Issuer)
}

// Load reads the configuration. In AWS mode (local false) TABLE_NAME,
// EVENT_BUS_NAME, PUBLIC_URL (an https origin) and SESSION_SECRET_ARN are
// required; the session key and the Stripe keys come from the secrets the
// *_SECRET_ARN variables name (see LoadSecrets). Only where no secret ARN
// is set (sam local) may SESSION_KEY, STRIPE_SECRET_KEY and
// STRIPE_WEBHOOK_SECRET stand in; setting both is an error. An OIDC_ISSUER
// requires OIDC_CLIENT_ID. Local mode reads the keys from the environment
// only (a random session key when none is given), takes PUBLIC_URL when
// set, and ignores the OIDC settings: it signs in through /dev/login.
func Load(getenv func(string) string, local bool) (Config, error) {
	c := Config{Local: local, TableName: getenv(EnvTableName), DynamoEndpoint: getenv(EnvDynamoEndpoint),
		EventBus: getenv(EnvEventBus), UsageAPIKey: getenv(EnvUsageAPIKey), PublicURL: strings.TrimRight(getenv(EnvPublicURL), "/"),
		StripeSecretKey: getenv(EnvStripeSecret), StripePublishableKey: getenv(EnvStripePublic), StripeWebhookSecret: getenv(EnvStripeWebhook), EmailFrom: getenv(EnvEmailFrom),
		OIDC: auth.OIDCConfig{Issuer: getenv(EnvOIDCIssuer), ClientID: getenv(EnvOIDCClientID), ClientSecret: getenv(EnvOIDCClientSecret),
			OrgClaim: getenv(EnvOIDCOrgClaim), RoleClaim: getenv(EnvOIDCRoleClaim)}}
	c.OIDC.PublicURL = c.PublicURL
	c.Seller = seller(getenv)
	var errs []error
	var graceErr error
	c.PastDueGrace, graceErr = pastDueGrace(getenv)
	errs = append(errs, graceErr)
	if err := checkPublicURL(c.PublicURL, local); err != nil {
		errs = append(errs, err)
	}
	if !local && c.OIDC.Issuer != "" {
		errs = append(errs, checkOIDC(c.OIDC)...)
	}
	if !local {
		c.StripeSecretARN, c.SessionSecretARN = getenv(EnvStripeSecretARN), getenv(EnvSessionSecretARN)
		errs = append(errs, c.checkSecrets()...)
	}
	if local && c.UsageAPIKey == "" {
		c.UsageAPIKey = "local_" + hex.EncodeToString(randomBytes(24))
	}
	if !local && c.EventBus == "" {
		errs = append(errs, fmt.Errorf("%s is required", EnvEventBus))
	}
	if c.TableName == "" {
		if !local {
			errs = append(errs, fmt.Errorf("%s is required", EnvTableName))
		}
		c.TableName = "billing"
	}
	var err error
	if c.SessionSecretARN == "" {
		if c.SessionKey, err = sessionKey(getenv(EnvSessionKey), local); err != nil {
			errs = append(errs, err)
		}
	} else if getenv(EnvSessionKey) != "" {
		errs = append(errs, fmt.Errorf("set %s or %s, not both: in AWS the session keys come from the secret", EnvSessionSecretARN, EnvSessionKey))
	}
	switch getenv(EnvStripeCrypto) {
	case "on":
		c.StripeCrypto = true
	case "", "off":
	default:
		errs = append(errs, fmt.Errorf("%s must be on or off", EnvStripeCrypto))
	}
	if c.TrialCredits, err = amount(getenv, EnvTrialCredits, "10.00"); err != nil {
		errs = append(errs, err)
	}
	if c.OverageLimit, err = amount(getenv, EnvOverageLimit, "25.00"); err != nil {
		errs = append(errs, err)
	}
	if lvl := getenv(EnvLogLevel); lvl != "" {
		if err := c.LogLevel.UnmarshalText([]byte(lvl)); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", EnvLogLevel, err))
		}
	}
	return c, errors.Join(errs...)
}

// checkOIDC returns what is wrong with an OIDC sign-in configured in AWS
// mode: the issuer must be an https URL (plain http only on a loopback
// address, for tests), and a client id is required. The redirect is built
// from PUBLIC_URL, checked by checkPublicURL.
func checkOIDC(o auth.OIDCConfig) []error {
	var errs []error
	if u, err := url.Parse(o.Issuer); err != nil || !secureURL(u) {
		errs = append(errs, fmt.Errorf("%s must be the issuer's https URL", EnvOIDCIssuer))
	}
	if o.ClientID == "" {
		errs = append(errs, fmt.Errorf("%s is required with %s", EnvOIDCClientID, EnvOIDCIssuer))
	}
	return errs
}

// checkPublicURL returns what is wrong with PUBLIC_URL: in AWS mode it is
// required and must be an https origin (plain http only on a loopback
// address, for tests); locally, when set, an http or https origin. An
// origin has no path, query or fragment.
func checkPublicURL(v string, local bool) error {
	if v == "" {
		if local {
			return nil
		}
		return fmt.Errorf("%s is required: the https origin the Billing section is served at, like https://billing.example.com", EnvPublicURL)
	}
	u, err := url.Parse(v)
	ok := err == nil && u.Host != "" && u.Path == "" && u.RawQuery == "" && u.Fragment == "" && u.User == nil
	if local {
		ok = ok && (u.Scheme == "http" || u.Scheme == "https")
	} else {
		ok = ok && secureURL(u)
	}
	if !ok {
		return fmt.Errorf("%s must be an origin like https://billing.example.com (no path)", EnvPublicURL)
	}
	return nil
}

// checkSecrets returns what is wrong with the secrets of AWS mode: the
// session keys come from SESSION_SECRET_ARN (SESSION_KEY stands in only
// where no ARN is set, for sam local), the Stripe keys from
// STRIPE_SECRET_ARN (or STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET, never
// both ways at once).
func (c Config) checkSecrets() []error {
	var errs []error
	if c.StripeSecretARN != "" && (c.StripeSecretKey != "" || c.StripeWebhookSecret != "") {
		errs = append(errs, fmt.Errorf("set %s or %s and %s, not both: in AWS the Stripe keys come from the secret", EnvStripeSecretARN, EnvStripeSecret, EnvStripeWebhook))
	}
	for name, arn := range map[string]string{EnvStripeSecretARN: c.StripeSecretARN, EnvSessionSecretARN: c.SessionSecretARN} {
		if arn != "" && !strings.HasPrefix(arn, "arn:") {
			errs = append(errs, fmt.Errorf("%s must be the ARN of a Secrets Manager secret (arn:aws:secretsmanager:…)", name))
		}
	}
	return errs
}

// secureURL reports whether u is an https URL, or an http one on a
// loopback address.
func secureURL(u *url.URL) bool {
	if u.Host == "" {
		return false
	}
	if u.Scheme == "https" {
		return true
	}
	ip, err := netip.ParseAddr(u.Hostname())
	return u.Scheme == "http" && (u.Hostname() == "localhost" || (err == nil && ip.IsLoopback()))
}

// sessionKey is the session key of SESSION_KEY: random in local mode when
// unset; in AWS mode (sam local, with no SESSION_SECRET_ARN) required.
func sessionKey(v string, local bool) ([]byte, error) {
	if v == "" {
		if !local {
			return nil, fmt.Errorf("%s is required: the ARN of the session key secret (sam local may set %s instead: openssl rand -hex 32)", EnvSessionSecretARN, EnvSessionKey)
		}
		return randomBytes(32), nil
	}
	key, err := decodeSessionKey(v)
	if err != nil {
		return nil, fmt.Errorf("%s %w", EnvSessionKey, err)
	}
	return key, nil
}

// decodeSessionKey decodes a session key given as hex or base64 (standard
// or URL-safe): at least 32 bytes once decoded. 64 random letters and
// digits, as Secrets Manager generates them, decode as base64 to 48 bytes.
// Its error never quotes the key.
func decodeSessionKey(v string) ([]byte, error) {
	for _, decode := range []func(string) ([]byte, error){hex.DecodeString, base64.StdEncoding.DecodeString, base64.RawURLEncoding.DecodeString} {
		if key, err := decode(v); err == nil && len(key) >= auth.MinKeyBytes {
			return key, nil
		}
	}
	return nil, errors.New("must be at least 32 bytes, hex or base64 encoded (or 64 random letters and digits)")
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return b
}

func amount(getenv func(string) string, name, def string) (money.Money, error) {
	v := getenv(name)
	if v == "" {
		v = def
	}
	m, err := money.Parse(v)
	if err != nil || m < 0 {
		return 0, fmt.Errorf("%s must be a non-negative dollar amount like %s", name, def)
	}
	return m, nil
}

// seller is the seller of the SELLER_* variables, each defaulting to
// invoicing.DefaultSeller's.
func seller(getenv func(string) string) invoicing.Party {
	p := invoicing.DefaultSeller()
	p.Name = orDefault(getenv, EnvSellerName, p.Name)
	p.Email = orDefault(getenv, EnvSellerEmail, p.Email)
	p.TaxID = orDefault(getenv, EnvSellerTaxID, p.TaxID)
	if v := getenv(EnvSellerAddress); strings.TrimSpace(v) != "" {
		p.Address = nil
		for _, l := range strings.FieldsFunc(strings.ReplaceAll(v, " | ", "\n"), func(r rune) bool { return r == '\n' }) {
			if l = strings.TrimSpace(l); l != "" {
				p.Address = append(p.Address, l)
			}
		}
	}
	return p
}

// orDefault is the variable name, trimmed, or def when it is unset or
// blank.
func orDefault(getenv func(string) string, name, def string) string {
	if v := strings.TrimSpace(getenv(name)); v != "" {
		return v
	}
	return def
}

// Logger returns the structured logger: JSON in AWS (for CloudWatch
// queries), text locally.
func (c Config) Logger(w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.LogLevel}
	if c.Local {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// Parts builds a function's dependencies a part at a time, so that each
// function builds, and links, only the clients its routes use: Config.Parts
// builds what every function needs, and each With method adds one part.
// Deps is the result so far.
type Parts struct {
	Deps web.Deps
	c    Config
	sec  Secrets
}

// Parts builds what every function needs: the secrets (read from Secrets
// Manager at cold start in AWS mode, see LoadSecrets), the DynamoDB client
// (at DynamoEndpoint when set), the store, the sessions (checked against
// their records), the clock (time.Now when now is nil) and the settings of
// the handlers. It fails when a secret cannot be read.
func (c Config) Parts(ctx context.Context, log *slog.Logger, now func() time.Time) (*Parts, error) {
	if now == nil {
		now = time.Now
	}
	cfg, err := c.AWS(ctx)
	if err != nil {
		return nil, err
	}
	var sm secrets.Getter
	if c.StripeSecretARN != "" || c.SessionSecretARN != "" {
		if sm, err = secrets.NewClient(ctx, cfg); err != nil {
			return nil, err
		}
	}
	sec, err := c.LoadSecrets(ctx, sm, now, log)
	if err != nil {
		return nil, err
	}
	db := store.NewClientOf(cfg, c.DynamoEndpoint, nil)
	sessions, err := auth.NewKeyRingSessions(sec.SessionKeys, !c.Local, now)
	if err != nil {
		return nil, err
	}
	st := store.New(db, c.TableName, now)
	sessions.UseRecords(st) // sign-out and role changes end sessions before their cookies expire
	return &Parts{c: c, sec: sec, Deps: web.Deps{
		Store:       st,
		Sessions:    sessions,
		Now:         now,
		Log:         log,
		Local:       c.Local,
		NewOrg:      store.NewOrg{TrialCredits: c.TrialCredits, OverageLimit: c.OverageLimit},
		UsageAPIKey: c.UsageAPIKey,
		PublicURL:   c.PublicURL,

		StripePublishableKey:       c.StripePublishableKey,
		CurrentStripeWebhookSecret: sec.StripeWebhookSecret,
	}}, nil
}

// Config is the configuration the parts are built from.
func (p *Parts) Config() Config { return p.c }

// WithOIDC adds the sign-in with the OpenID Connect provider, when one is
// configured (AWS mode only).
func (p *Parts) WithOIDC() error {
	if p.c.Local || p.c.OIDC.Issuer == "" {
		return nil
	}
	o := p.c.OIDC
	o.PublicURL = p.c.PublicURL
	oidc, err := auth.NewOIDC(o, p.Deps.Sessions)
	if err != nil {
		return err
	}
	p.Deps.OIDC = oidc
	return nil
}

// WithPayments adds the payment service on Stripe when its key is set (in
// local mode the sandbox otherwise; a deployed function without a key gets
// a provider that refuses every call), and invoicing with the configured
// seller.
func (p *Parts) WithPayments() *Parts {
	var provider payments.Provider = payments.Unconfigured{}
	switch d := p.Deps; {
	case p.sec.StripeKey != nil:
		provider = stripeprovider.New(NewStripeClient(p.sec.StripeKey, nil)).WithCrypto(p.c.StripeCrypto)
	case p.c.Local:
		provider = sandbox.New(d.Store, d.Now, "/billing/credits/checkout/")
	}
	return p.withProvider(provider)
}

// WithStripe is WithPayments without the sandbox: the payment service on
// Stripe when its key is set, else one that refuses every call. For the
// deployed functions, which never run the sandbox.
func (p *Parts) WithStripe() *Parts {
	var provider payments.Provider = payments.Unconfigured{}
	if p.sec.StripeKey != nil {
		provider = stripeprovider.New(NewStripeClient(p.sec.StripeKey, nil)).WithCrypto(p.c.StripeCrypto)
	}
	return p.withProvider(provider)
}

func (p *Parts) withProvider(provider payments.Provider) *Parts {
	d := &p.Deps
	d.Payments = payments.NewService(d.Store, provider, d.Now, d.Log)
	d.Invoicing = invoicing.New(d.Store, d.Payments, d.Now, d.Log).WithSeller(p.c.Seller).WithPastDueGrace(p.c.PastDueGrace)
	return p
}

// WithUsage adds the usage service, publishing its events to pub.
func (p *Parts) WithUsage(pub usage.Publisher) *Parts {
	d := &p.Deps
	d.Usage = usage.NewService(d.Store, pub, d.Now, d.Log)
	return p
}

// WithStripeEvents adds the handling of Stripe's webhook events,
// publishing billing events to pub, and WithStripe's parts when no
// payments were added yet.
func (p *Parts) WithStripeEvents(pub usage.Publisher) *Parts {
	d := &p.Deps
	if d.Payments == nil {
		p.WithStripe()
	}
	d.StripeEvents = stripeprovider.NewEvents(d.Payments, d.Store, d.Now, d.Log).WithInvoices(d.Invoicing).WithPublisher(pub)
	return p
}

// WithRecharge adds the auto-recharge engine, publishing its events to
// pub, and WithStripe's parts when no payments were added yet.
func (p *Parts) WithRecharge(pub usage.Publisher) *Parts {
	d := &p.Deps
	if d.Payments == nil {
		p.WithStripe()
	}
	d.Recharge = recharge.New(d.Store, d.Payments, pub, d.Now, d.Log)
	return p
}

// WithNotify adds the notifier, sending emails with mailer; nil is the
// local outbox in local mode, and in AWS mode a mailer that refuses (for
// functions that only deliver webhooks or list deliveries).
func (p *Parts) WithNotify(mailer notify.Mailer) *Parts {
	d := &p.Deps
	if mailer == nil {
		mailer = noMail{}
		if p.c.Local {
			mailer = notify.NewOutbox(d.Store, d.Now)
		}
	}
	d.Notify = notify.New(d.Store, mailer, nil, d.Now, d.Log, p.c.Local).WithPublicURL(p.c.PublicURL)
	return p
}

// noMail is the mailer of a function that sends no email.
type noMail struct{}

func (noMail) Send(context.Context, notify.Email) error {
	return errors.New("this function sends no email")
}

// WithAll adds every part: the OIDC sign-in, payments (with the sandbox
// locally), usage, Stripe's events, auto-recharge and the notifier, events
// going to pub and emails to mailer (as WithNotify).
func (p *Parts) WithAll(pub usage.Publisher, mailer notify.Mailer) error {
	if err := p.WithOIDC(); err != nil {
		return err
	}
	p.WithPayments().WithUsage(pub).WithStripeEvents(pub).WithRecharge(pub).WithNotify(mailer)
	return nil
}

// Deps builds every dependency of every handler, for the local server and
// tests: Parts WithAll. Events go to pub: nil means a new in-process bus
// locally, and is an error in AWS mode (function.Deps gives EventBridge).
// Emails go to the local outbox, and are refused in AWS mode (function.Deps
// gives SES). It fails when a secret cannot be read.
func (c Config) Deps(ctx context.Context, log *slog.Logger, now func() time.Time, pub usage.Publisher) (web.Deps, error) {
	if pub == nil {
		if !c.Local {
			return web.Deps{}, errors.New("AWS mode needs the EventBridge publisher")
		}
		pub = events.NewBus(log)
	}
	p, err := c.Parts(ctx, log, now)
	if err != nil {
		return web.Deps{}, err
	}
	if err := p.WithAll(pub, nil); err != nil {
		return web.Deps{}, err
	}
	return p.Deps, nil
}

package web_test

import (
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/acme/billing/shared/auth"
	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/config"
	"github.com/acme/billing/shared/events"
	"github.com/acme/billing/shared/store/storetest"
)

// TestDeployedSessionsKeepRecords: the functions' dependencies, built by
// config as every Lambda and the local server build them, record each
// sign-in and refuse a signed-out session.
func TestDeployedSessionsKeepRecords(t *testing.T) {
	db := storetest.New(t)
	vars := map[string]string{config.EnvTableName: db.Table, config.EnvDynamoEndpoint: db.URL}
	c, err := config.Load(func(k string) string { return vars[k] }, true)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	deps, err := c.Deps(t.Context(), log, nil, events.NewBus(log))
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	if err := deps.Sessions.SignIn(t.Context(), rec, auth.Session{OrgID: "acme", Email: "you@acme.test", Role: billing.RoleAdmin}); err != nil {
		t.Fatal(err)
	}
	cookie := rec.Result().Cookies()[0]
	request := func(method string) *http.Request {
		r := httptest.NewRequest(method, "/billing", nil)
		r.AddCookie(cookie)
		return r
	}
	if s, err := deps.Sessions.Live(request(http.MethodPost)); err != nil || s.ID == "" {
		t.Fatalf("signed in: %+v, %v; want a recorded session", s, err)
	}
	if err := deps.Sessions.SignOut(httptest.NewRecorder(), request(http.MethodPost)); err != nil {
		t.Fatal(err)
	}
	if _, err := deps.Sessions.Live(request(http.MethodPost)); !errors.Is(err, auth.ErrNoSession) {
		t.Errorf("after sign-out: %v, want no session", err)
	}
}

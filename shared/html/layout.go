// Package html holds the server-rendered views of the Billing section, as
// gomponents. Views take props and never touch storage.
package html

import (
	"github.com/acme/billing/shared/auth"
	. "maragu.dev/gomponents"
	. "maragu.dev/gomponents/components"
	. "maragu.dev/gomponents/html"
)

// NavItem is one entry of the Billing navigation.
type NavItem struct {
	Label string
	Path  string
}

// Navigation is the Billing navigation, in the order of the product spec. Every
// path is a GET route of the section (a test checks it).
var Navigation = []NavItem{
	{"Overview", "/billing"},
	{"Invoices", "/billing/invoices"},
	{"Payment Methods", "/billing/payment-methods"},
	{"Spend Management", "/billing/spend-management"},
	{"Add Usage Credits", "/billing/credits"},
	{"Auto Recharge", "/billing/auto-recharge"},
	{"Invoice Address", "/billing/address"},
	{"Invoice Notifications", "/billing/notifications"},
	{"Tax Settings", "/billing/tax"},
	{"Balance History", "/billing/balance-history"},
}

// Flash is a one-time message shown at the top of a page after a redirect.
type Flash struct {
	Kind    string // "success", "error" or "info"
	Message string
}

// PageProps is what every Billing page's layout needs.
type PageProps struct {
	Title   string
	Path    string // the current page's path, marked in the navigation
	Session auth.Session
	OrgName string
	Flash   Flash
}

// Page is the layout of every signed-in Billing page: the navigation, the
// signed-in member, the flash message, and body.
func Page(p PageProps, body ...Node) Node {
	return document(p.Title,
		A(Class("skip-link"), Href("#main"), Text("Skip to content")),
		Div(Class("shell"),
			Aside(Class("sidebar"),
				A(Class("brand"), Href("/billing"), Span(Class("brand-mark"), Aria("hidden", "true")), Text("Billing")),
				// A wide screen shows the navigation; a phone a menu that
				// opens it, without JavaScript. CSS shows one of the two.
				Nav(Class("nav nav-wide"), Aria("label", "Billing"),
					P(Class("nav-title"), Text("Billing")),
					navList(p.Path),
				),
				Details(Class("nav-menu"),
					Summary(Span(Class("nav-menu-label"), Text("Menu")), Span(Class("nav-menu-current"), Text(currentLabel(p.Path)))),
					Nav(Class("nav"), Aria("label", "Billing"), navList(p.Path)),
				),
			),
			Main(Class("main"), ID("main"), TabIndex("-1"),
				Header(Class("topbar"),
					Span(Class("org"), Text(orgLabel(p))),
					Span(Class("user"), Text(p.Session.Email)),
					Span(Class("role-badge"), Text(string(p.Session.Role))),
					Form(Class("inline"), Method("post"), Action("/auth/logout"),
						Button(Class("btn-link"), Type("submit"), Text("Sign out")),
					),
				),
				flash(p.Flash),
				Group(body),
			),
		),
	)
}

// navList is the navigation's links, the current page marked.
func navList(current string) Node {
	return Ul(Map(Navigation, func(n NavItem) Node {
		return Li(A(Href(n.Path), If(n.Path == current, Aria("current", "page")), Text(n.Label)))
	}))
}

// currentLabel is the navigation label of the page at path, or "" for a
// page outside the navigation.
func currentLabel(path string) string {
	for _, n := range Navigation {
		if n.Path == path {
			return n.Label
		}
	}
	return ""
}

func orgLabel(p PageProps) string {
	if p.OrgName != "" {
		return p.OrgName
	}
	return p.Session.OrgID
}

// document is the HTML5 skeleton shared by every page.
func document(title string, body ...Node) Node {
	return HTML5(HTML5Props{
		Title:    title + " · Billing",
		Language: "en",
		Head: []Node{
			Meta(Name("viewport"), Content("width=device-width, initial-scale=1")),
			Meta(Name("color-scheme"), Content("light dark")),
			Link(Rel("stylesheet"), Href("/static/app.css")),
			Link(Rel("icon"), Type("image/svg+xml"), Href("/static/favicon.svg")),
			// busy.js marks the submit button of a form with data-busy
			// while its request runs (see the script).
			Script(Src("/static/busy.js"), Defer()),
		},
		Body: body,
	})
}

func flash(f Flash) Node {
	if f.Message == "" {
		return nil
	}
	kind := f.Kind
	if kind != "success" && kind != "error" {
		kind = "info"
	}
	role := "status"
	if kind == "error" {
		role = "alert"
	}
	return Div(Classes{"flash": true, "flash-" + kind: true}, Role(role), Text(f.Message))
}

// pageHeader is the heading of a page with its one-line purpose and actions.
func pageHeader(title, lede string, actions ...Node) Node {
	return Div(Class("page-header"),
		Div(H1(Text(title)), If(lede != "", P(Class("lede"), Text(lede)))),
		If(len(actions) > 0, Div(Class("page-actions"), Group(actions))),
	)
}

package html

import (
	"net/url"

	. "maragu.dev/gomponents"
	. "maragu.dev/gomponents/html"
)

// LoginProps describes the sign-in page.
type LoginProps struct {
	// Local offers the local development sign-in form.
	Local bool
	Next  string
	Error string
	// Retry offers to start the sign-in with the identity provider again,
	// after Error refused one (AWS mode).
	Retry bool
}

// LoginPage asks the visitor to sign in. Locally it offers a form that
// signs in as any member of any organisation. In AWS it is shown only when
// the identity provider's sign-in is not configured, or (Retry) to say why
// a sign-in was refused, offering to sign in again or to sign out of the
// identity provider first.
func LoginPage(p LoginProps) Node {
	var body Node
	if p.Local {
		body = Form(Class("form"), Method("get"), Action("/dev/login"),
			Input(Type("hidden"), Name("next"), Value(p.Next)),
			If(p.Error != "", Div(Class("flash flash-error"), Role("alert"), Text(p.Error))),
			field("org", "Organisation id", Input(ID("org"), Name("org"), Value("acme"), Required(), AutoComplete("organization")), "For example acme, the demo organisation.", ""),
			field("email", "Email", Input(ID("email"), Name("email"), Type("email"), Value("you@acme.test"), Required(), AutoComplete("email")), "", ""),
			field("role", "Role", Select(ID("role"), Name("role"),
				Option(Value("admin"), Text("Admin — can change settings and pay")),
				Option(Value("viewer"), Text("Viewer — can only look")),
			), "", ""),
			Div(Class("form-actions"), Button(Class("btn btn-primary"), Type("submit"), Text("Sign in"))),
		)
	} else if p.Retry {
		body = Group{
			Div(Class("flash flash-error"), Role("alert"), Text(p.Error)),
			Div(Class("form-actions"), A(Class("btn btn-primary"), Href("/auth/login?next="+url.QueryEscape(p.Next)), Text("Sign in again"))),
			Form(Method("post"), Action("/auth/logout"),
				P(Class("muted"), Text("Signed in to your identity provider with the wrong account? "),
					Button(Class("btn btn-link"), Type("submit"), Text("Sign out of it first")))),
		}
	} else {
		body = P(Text("Sign-in with your company account is not configured for this deployment yet. Ask your operator to configure it."))
	}
	return document("Sign in", Main(Class("auth"), ID("main"),
		Section(Class("card auth-card"),
			H1(Text("Sign in to Billing")),
			If(p.Local, P(Class("muted"), Text("Local development sign-in. It exists only when the server runs locally."))),
			body,
		),
	))
}

package html

import (
	"slices"
	"strings"

	. "maragu.dev/gomponents"
	. "maragu.dev/gomponents/html"
)

// field is a labelled form control with an optional hint and error. The
// control must carry ID(id).
func field(id, label string, control Node, hint, errMsg string) Node {
	return Div(Class("field"),
		Label(For(id), Text(label)),
		control,
		If(hint != "", P(Class("hint"), ID(id+"-hint"), Text(hint))),
		If(errMsg != "", P(Class("field-error"), ID(id+"-error"), Text(errMsg))),
	)
}

// formField is a labelled control built by control, with its hint and,
// if errs has one for id, its error next to it.
func formField(id, label string, ctl Node, hint string, errs map[string]string) Node {
	return field(id, label, ctl, hint, errs[id])
}

// control builds the form control el named and identified by id, tied to
// its hint and error (aria-describedby, aria-invalid), with attrs.
func control(el func(...Node) Node, id string, hint bool, errs map[string]string, attrs ...Node) Node {
	var described []string
	if hint {
		described = append(described, id+"-hint")
	}
	if errs[id] != "" {
		described = append(described, id+"-error")
	}
	nodes := []Node{ID(id), Name(id),
		If(errs[id] != "", Aria("invalid", "true")),
		If(len(described) > 0, Aria("describedby", strings.Join(described, " ")))}
	return el(append(nodes, attrs...)...)
}

// errorSummary is the box at the top of a form that came back with errors:
// "There is a problem" (or "There are N problems") and, for each field
// with an error, its message as a link to the field (href="#<id>"), in
// the order of the ids in order (the form's fields, top to bottom; an
// error of a field not listed comes after them). The box takes focus when
// the page loads (autofocus, no script needed) and is an alert, so a
// screen reader reads it and a keyboard user can jump to each field. It
// renders nothing when errs is empty.
//
// To adopt it in a form, pass the same errs the fields get, first thing
// inside the form:
//
//	Form(Class("form"), ..., errorSummary(e, "daily_budget", "email_threshold", "webhook_url"), formField(...), ...)
//
// Each message should say what is wrong with the value typed ("$5,000.01 is
// above the $5,000.00 maximum."), not repeat the field's hint; the same
// message shows next to its field.
func errorSummary(errs map[string]string, order ...string) Node {
	if len(errs) == 0 {
		return nil
	}
	ids := slices.Clone(order)
	var rest []string
	for id := range errs {
		if !slices.Contains(order, id) {
			rest = append(rest, id)
		}
	}
	slices.Sort(rest)
	var items []Node
	for _, id := range append(ids, rest...) {
		if msg := errs[id]; msg != "" {
			items = append(items, Li(A(Href("#"+id), Text(msg))))
		}
	}
	title := "There is a problem"
	if len(items) > 1 {
		title = "There are " + itoa(len(items)) + " problems"
	}
	return Div(Class("error-summary"), ID("error-summary"), Role("alert"), TabIndex("-1"), AutoFocus(), Aria("labelledby", "error-summary-title"),
		H2(ID("error-summary-title"), Text(title)),
		Ul(Group(items)),
	)
}

package html

import (
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

package html

import (
	. "maragu.dev/gomponents"
	. "maragu.dev/gomponents/html"
)

// field is a labelled form control with an optional hint and error. The
// control must carry ID(id); the error is tied to it with aria-describedby.
func field(id, label string, control Node, hint, errMsg string) Node {
	return Div(Class("field"),
		Label(For(id), Text(label)),
		control,
		If(hint != "", P(Class("hint"), ID(id+"-hint"), Text(hint))),
		If(errMsg != "", P(Class("field-error"), ID(id+"-error"), Text(errMsg))),
	)
}

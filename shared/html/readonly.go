package html

import (
	. "maragu.dev/gomponents"
	. "maragu.dev/gomponents/html"
)

// changeFields holds the fields and actions of a form that changes
// something. For a member who may not change it (a viewer) they sit in a
// disabled fieldset: every control shows, read-only, and nothing offers a
// change that would only be refused.
func changeFields(canChange bool, children ...Node) Node {
	return FieldSet(Class("change-fields"), If(!canChange, Disabled()), Group(children))
}

package html

import (
	"strconv"

	. "maragu.dev/gomponents"
	. "maragu.dev/gomponents/html"
)

func itoa(n int) string { return strconv.Itoa(n) }

// labelled is a cell of a "table table-stack": on a phone each row becomes
// a card, and the cell shows label, its column's heading, before its value.
func labelled(label string, children ...Node) Node {
	return Td(Data("label", label), Group(children))
}

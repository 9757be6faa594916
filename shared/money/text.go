package money

// MarshalText returns m.String(), so Money is written to JSON as an exact decimal
// string of dollars, such as {"amount":"0.0025"}, never as a float.
func (m Money) MarshalText() ([]byte, error) {
	return []byte(m.String()), nil
}

// UnmarshalText sets m from a plain decimal string of dollars, read by Parse, and
// returns Parse's errors (ErrEmpty, ErrSyntax, ErrPrecision, ErrRange) leaving m
// unchanged. In JSON the amount must be a string: encoding/json rejects a bare
// number such as 0.0025 before UnmarshalText is called.
func (m *Money) UnmarshalText(text []byte) error {
	v, err := Parse(string(text))
	if err != nil {
		return err
	}
	*m = v
	return nil
}

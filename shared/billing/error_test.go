package billing_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/acme/billing/shared/billing"
)

func TestErrorCodeAndMessage(t *testing.T) {
	notFound := billing.Errorf(billing.ENOTFOUND, "Invoice %s not found.", "in_1")

	tests := []struct {
		name        string
		err         error
		wantCode    string
		wantMessage string
	}{
		{"no error has no code and no message", nil, "", ""},
		{"a domain error gives its code and message", notFound, "not_found", "Invoice in_1 not found."},
		{"a wrapped domain error gives its code and message", fmt.Errorf("get invoice: %w", notFound), "not_found", "Invoice in_1 not found."},
		{"a twice-wrapped field error gives its code and message", fmt.Errorf("save: %w", fmt.Errorf("validate: %w", billing.FieldError("name", "Too long."))), "invalid", "Too long."},
		{"a plain error is internal and hides its text", errors.New("dynamodb: connection reset"), "internal", "Internal error."},
		{"a wrapped plain error is internal and hides its text", fmt.Errorf("load: %w", errors.New("secret detail")), "internal", "Internal error."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := billing.ErrorCode(tt.err); got != tt.wantCode {
				t.Errorf("ErrorCode(%v) = %q, want %q", tt.err, got, tt.wantCode)
			}
			if got := billing.ErrorMessage(tt.err); got != tt.wantMessage {
				t.Errorf("ErrorMessage(%v) = %q, want %q", tt.err, got, tt.wantMessage)
			}
		})
	}
}

func TestError(t *testing.T) {
	tests := []struct {
		name string
		err  *billing.Error
		want string
	}{
		{
			name: "an error without a field names its code and message",
			err:  billing.Errorf(billing.ECONFLICT, "Already exists."),
			want: "billing error: code=conflict message=Already exists.",
		},
		{
			name: "a field error names its code, field and message",
			err:  billing.FieldError("amount", "Amount must be at least %s.", "$5.00"),
			want: "billing error: code=invalid field=amount message=Amount must be at least $5.00.",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}

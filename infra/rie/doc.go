// Package rie runs packaged Billing functions the way AWS Lambda does: each
// function is built as a bootstrap binary (CGO off, the lambda.norpc tag,
// like `make build` but for the host's architecture) and started by the
// Lambda Runtime Interface Emulator (aws-lambda-rie), which serves Lambda's
// invoke API on loopback and the Runtime API the binary polls.
//
// Its tests prove the packaged overview function answers a real API
// Gateway v2 event (TestPackagedOverview), and BenchmarkColdStart (make
// bench) measures the cold start of the overview, usage and stripe-webhook
// functions, process start to first answer, against a hello-world function
// built the same way (testdata/hello). The emulator runs the host's
// architecture, so these are host builds; make bench prints the deployed
// arm64 sizes separately.
//
// The tests need aws-lambda-rie: on PATH, in $(go env GOBIN) or
// $(go env GOPATH)/bin, or they install it with
// `go install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@latest`
// (the Go module proxy must be reachable) and fail saying why when that
// does not work. The emulator is bound to 127.0.0.1 only; by default it
// listens on every interface.
package rie

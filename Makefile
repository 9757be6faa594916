# The two commands: `make run` (local server) and `make test` (everything CI runs).
SHELL := /bin/bash
GO ?= go
FUNCTIONS := $(notdir $(wildcard functions/*))
# A count, not a duration: Go 1.26's fuzzer can end a timed run with a
# spurious "context deadline exceeded" (golang/go#75804).
FUZZTIME ?= 1000000x

.PHONY: run test unit fuzz build lint bench clean

## run: the whole Billing section locally on http://127.0.0.1:8080 (ADDR to change)
run:
	$(GO) run ./infra/local

## test: lint, all tests with the race detector (the browser tests in Chromium too), and a short fuzz run of money parsing
test: chromium lint unit fuzz

# chromium: Debian's Chromium for the browser tests (infra/browsertest), installed when missing.
.PHONY: chromium
chromium:
	@command -v chromium >/dev/null 2>&1 && exit 0; \
	command -v apt-get >/dev/null 2>&1 || { echo "make test: the browser tests need chromium, which is not on PATH, and it cannot be installed: there is no apt-get on this machine; install Chromium so that 'chromium' is on PATH, then run make test again" >&2; exit 1; }; \
	[ "$$(id -u)" = 0 ] || { echo "make test: the browser tests need chromium, which is not on PATH, and it cannot be installed: apt-get needs root and this runs as uid $$(id -u); run 'sudo apt-get update && sudo apt-get install -y --no-install-recommends chromium', then make test again" >&2; exit 1; }; \
	echo "chromium is not on PATH and the browser tests need it: installing Debian's chromium package"; \
	apt-get update || { echo "make test: cannot install chromium: 'apt-get update' failed with exit code $$? (its messages are above)" >&2; exit 1; }; \
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium || { echo "make test: cannot install chromium: 'apt-get install chromium' failed with exit code $$? (its messages are above)" >&2; exit 1; }; \
	command -v chromium >/dev/null 2>&1 || { echo "make test: apt-get installed chromium, but 'chromium' is still not on PATH" >&2; exit 1; }

unit:
	BROWSER_TESTS=required $(GO) test -race -count=1 ./...

fuzz:
	$(GO) test ./shared/money -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME)

## build: an arm64 bootstrap zip per function for SAM, in build/<name>.zip
build:
	@mkdir -p build
	@for f in $(FUNCTIONS); do \
		echo "build $$f"; \
		GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build -tags lambda.norpc -trimpath -ldflags='-s -w' \
			-o build/$$f/bootstrap ./functions/$$f || exit 1; \
		$(GO) run ./infra/pack build/$$f.zip build/$$f/bootstrap || exit 1; \
	done

## bench: the usage API's capacity figures (DynamoDB requests, WCU, allowance overhead), and the packaged overview function's cold start under aws-lambda-rie against a hello-world function
bench:
	$(GO) test -run '^$$' -bench 'BenchmarkUsageAPI' -benchtime 50x ./shared/usage/
	$(GO) test -run '^$$' -bench 'BenchmarkColdStart' -benchtime 20x ./infra/rie/

## lint: gofmt and go vet
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
		if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

clean:
	rm -rf build .aws-sam

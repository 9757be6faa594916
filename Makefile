# The two commands: `make run` (local server) and `make test` (everything CI runs).
SHELL := /bin/bash
GO ?= go
FUNCTIONS := $(notdir $(wildcard functions/*))
FUZZTIME ?= 10s

.PHONY: run test unit fuzz build lint bench clean

## run: the whole Billing section locally on http://127.0.0.1:8080 (ADDR to change)
run:
	$(GO) run ./infra/local

## test: lint, all tests with the race detector, and a short fuzz run of money parsing
test: lint unit fuzz

unit:
	$(GO) test -race -count=1 ./...

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

## bench: the usage API's capacity figures (DynamoDB requests, WCU, allowance overhead)
bench:
	$(GO) test -run '^$$' -bench 'BenchmarkUsageAPI' -benchtime 50x ./shared/usage/

## lint: gofmt and go vet
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
		if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

clean:
	rm -rf build .aws-sam

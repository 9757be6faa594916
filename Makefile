# The two commands: `make run` (local server) and `make test` (everything CI runs).
SHELL := /bin/bash
GO ?= go
FUNCTIONS := $(notdir $(wildcard functions/*))
# A count, not a duration: Go 1.26's fuzzer can end a timed run with a
# spurious "context deadline exceeded" (golang/go#75804).
FUZZTIME ?= 1000000x

.PHONY: run test unit fuzz build lint bench clean

# How every Lambda bootstrap is built, by make build and by sam build (the
# build-<LogicalId> targets below): static, for arm64 provided.al2023.
LAMBDA_ENV := GOOS=linux GOARCH=arm64 CGO_ENABLED=0
LAMBDA_FLAGS := -tags lambda.norpc -trimpath -ldflags='-s -w'

## run: the whole Billing section locally on http://127.0.0.1:8080 (ADDR to change)
run:
	$(GO) run ./infra/local

## test: lint, all tests with the race detector (the browser tests in Chromium too, the template checks after the real SAM transform), and a short fuzz run of money parsing
test: chromium axe samtranslator lint unit fuzz

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

# axe: axe-core, the accessibility engine the browser tests run in every page,
# pinned in infra/browsertest/package-lock.json and installed with npm ci when
# it is missing or older than the lock file (npm itself, with Node.js, from
# Debian's packages when it is not on PATH).
.PHONY: axe
axe:
	@cd infra/browsertest && [ -f node_modules/axe-core/axe.min.js ] && [ node_modules/.package-lock.json -nt package-lock.json ] && exit 0; \
	if ! command -v npm >/dev/null 2>&1; then \
		command -v apt-get >/dev/null 2>&1 || { echo "make test: the browser tests need axe-core, installed with npm, which is not on PATH, and it cannot be installed: there is no apt-get on this machine; install Node.js with npm, then run make test again" >&2; exit 1; }; \
		[ "$$(id -u)" = 0 ] || { echo "make test: the browser tests need axe-core, installed with npm, which is not on PATH, and it cannot be installed: apt-get needs root and this runs as uid $$(id -u); run 'sudo apt-get update && sudo apt-get install -y --no-install-recommends nodejs npm', then make test again" >&2; exit 1; }; \
		echo "npm is not on PATH and the browser tests need it for axe-core: installing Debian's nodejs and npm packages"; \
		apt-get update || { echo "make test: cannot install npm: 'apt-get update' failed with exit code $$? (its messages are above)" >&2; exit 1; }; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nodejs npm || { echo "make test: cannot install npm: 'apt-get install nodejs npm' failed with exit code $$? (its messages are above)" >&2; exit 1; }; \
		command -v npm >/dev/null 2>&1 || { echo "make test: apt-get installed npm, but 'npm' is still not on PATH" >&2; exit 1; }; \
	fi; \
	echo "installing axe-core for the browser tests: npm ci in infra/browsertest"; \
	npm ci --no-audit --no-fund || { echo "make test: 'npm ci' in infra/browsertest failed with exit code $$? (its messages are above); the browser tests need axe-core from it" >&2; exit 1; }

# samtranslator: python3 with aws-sam-translator, which the template checks
# (infra/templatecheck) run template.yaml through; cfn-lint brings it, so
# that is what is installed (with pip, for the user) when it is missing.
.PHONY: samtranslator
samtranslator:
	@python3 -c 'import samtranslator' >/dev/null 2>&1 && exit 0; \
	command -v python3 >/dev/null 2>&1 || { echo "make test: the template checks (infra/templatecheck) run template.yaml through the real SAM transform with python3, which is not on PATH: install Python 3 with pip (Debian: apt-get install python3-pip), then make test again" >&2; exit 1; }; \
	echo "python3 cannot import samtranslator, which the template checks need: installing cfn-lint (it brings aws-sam-translator) with 'python3 -m pip install --user cfn-lint'"; \
	python3 -m pip install --user cfn-lint || { echo "make test: cannot install cfn-lint: 'python3 -m pip install --user cfn-lint' failed (its messages are above); install it in a virtual environment instead (python3 -m venv ~/.venv/billing && . ~/.venv/billing/bin/activate && pip install cfn-lint) and run make test from that shell" >&2; exit 1; }; \
	python3 -c 'import samtranslator' || { echo "make test: pip installed cfn-lint, but python3 still cannot import samtranslator" >&2; exit 1; }

unit:
	BROWSER_TESTS=required $(GO) test -race -count=1 ./...

fuzz:
	$(GO) test ./shared/money -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME)

## build: an arm64 bootstrap zip per function, in build/<name>.zip (sam build builds the same bootstraps)
build:
	@mkdir -p build
	@for f in $(FUNCTIONS); do \
		echo "build $$f"; \
		$(LAMBDA_ENV) $(GO) build $(LAMBDA_FLAGS) -o build/$$f/bootstrap ./functions/$$f || exit 1; \
		$(GO) run ./infra/pack build/$$f.zip build/$$f/bootstrap || exit 1; \
	done

# sam build runs build-<LogicalId> for each function of template.yaml
# (Metadata.BuildMethod makefile) with ARTIFACTS_DIR set; the bootstrap it
# leaves there is the function's code. One target per directory of
# functions/, named as the template names the function (a test checks all
# three agree).
lambda = $(if $(ARTIFACTS_DIR),,$(error ARTIFACTS_DIR is not set: sam build sets it; by hand, make $@ ARTIFACTS_DIR=<dir>)) \
	$(LAMBDA_ENV) $(GO) build $(LAMBDA_FLAGS) -o "$(ARTIFACTS_DIR)/bootstrap" ./functions/$(1)
.PHONY: $(addprefix build-,OverviewFunction BalanceHistoryFunction InvoicesFunction PaymentMethodsFunction SpendManagementFunction CreditsFunction AutoRechargePageFunction AddressFunction NotificationsFunction TaxFunction AuthFunction UsageFunction DailyResetFunction InvoicingFunction StripeWebhookFunction AutoRechargeFunction NotifierFunction)
build-OverviewFunction: ; $(call lambda,overview)
build-BalanceHistoryFunction: ; $(call lambda,balance-history)
build-InvoicesFunction: ; $(call lambda,invoices)
build-PaymentMethodsFunction: ; $(call lambda,payment-methods)
build-SpendManagementFunction: ; $(call lambda,spend-management)
build-CreditsFunction: ; $(call lambda,credits)
build-AutoRechargePageFunction: ; $(call lambda,auto-recharge-page)
build-AddressFunction: ; $(call lambda,address)
build-NotificationsFunction: ; $(call lambda,notifications)
build-TaxFunction: ; $(call lambda,tax)
build-AuthFunction: ; $(call lambda,auth)
build-UsageFunction: ; $(call lambda,usage)
build-DailyResetFunction: ; $(call lambda,daily-reset)
build-InvoicingFunction: ; $(call lambda,invoicing)
build-StripeWebhookFunction: ; $(call lambda,stripe-webhook)
build-AutoRechargeFunction: ; $(call lambda,auto-recharge)
build-NotifierFunction: ; $(call lambda,notifier)

## bench: the deployed arm64 zips' sizes, the usage API's capacity figures (DynamoDB requests, WCU, allowance overhead), the cold start of the packaged overview, usage and stripe-webhook functions under aws-lambda-rie against a hello-world function, and the scheduled jobs' figures (README: Reading make bench)
bench: bench-sizes
	$(GO) test -run '^$$' -bench 'BenchmarkUsageAPI' -benchtime 50x ./shared/usage/
	$(GO) test -run '^$$' -bench 'BenchmarkColdStart' -benchtime 20x ./infra/rie/
	$(GO) test -run '^$$' -bench 'BenchmarkJobs' -benchtime 1x ./shared/jobs/

# bench-sizes: the size of each deployed arm64 bootstrap that make build
# left in build/, and of its zip (what Lambda loads), largest zip first.
.PHONY: bench-sizes
bench-sizes: build
	@echo "Deployed bootstraps ($(LAMBDA_ENV), $(LAMBDA_FLAGS)), as make build leaves them in build/:"
	@printf '%-20s %12s %12s\n' function "zip MB" "bootstrap MB"
	@for f in $(FUNCTIONS); do \
		printf '%-20s %12.2f %12.2f\n' $$f $$(awk "BEGIN{print $$(stat -c %s build/$$f.zip)/1000000}") $$(awk "BEGIN{print $$(stat -c %s build/$$f/bootstrap)/1000000}") || exit 1; \
	done | sort -k2 -nr

## lint: gofmt, go vet, and cfn-lint on template.yaml (skipped with a note when cfn-lint is missing; CI sets REQUIRE_CFN_LINT=1)
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
		if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@if command -v cfn-lint >/dev/null 2>&1; then \
		echo "cfn-lint template.yaml"; cfn-lint template.yaml; \
	elif [ -n "$(REQUIRE_CFN_LINT)" ]; then \
		echo "lint: cfn-lint is not on PATH and REQUIRE_CFN_LINT is set: pip install cfn-lint" >&2; exit 1; \
	else \
		echo "lint: cfn-lint is not installed, so template.yaml was not checked against the SAM transform and CloudFormation's schemas; get it with: pip install cfn-lint"; \
	fi

clean:
	rm -rf build .aws-sam

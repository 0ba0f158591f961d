# Veza: `make run` serves the app, `make test` runs the tests. Both fetch the
# Go modules and make sure PostgreSQL and Redis answer (see
# deploy/local/services.sh), starting local servers under var/ when needed.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

GO ?= go
GOFMT ?= gofmt
APP_ENV ?= development
export APP_ENV

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/veza/veza/platform/buildinfo.Version=$(VERSION)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
HELLO := examples/hello-module

.PHONY: help deps services services-stop run test lint bench build clean

help: ## List the targets
	@echo "Usage: make <target>"
	@echo
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*## "} {printf "  %-14s %s\n", $$1, $$2}'
	@echo
	@echo "DATABASE_URL and REDIS_URL (environment) say where PostgreSQL and Redis are."

deps: ## Fetch the Go modules
	@GO="$(GO)" bash deploy/local/toolchain.sh
	$(GO) mod download
	if [ -f $(HELLO)/go.mod ]; then cd $(HELLO) && $(GO) mod download; fi

services: ## Make sure PostgreSQL and Redis answer (start local ones under var/ if not)
	@bash deploy/local/services.sh

services-stop: ## Stop the local PostgreSQL and Redis started by `make services`
	@bash deploy/local/services.sh stop

run: deps services ## Serve Veza (APP_ENV=development unless set)
	APP_ENV=$(APP_ENV) $(GO) run ./cmd/veza serve

test: deps services ## Run all the tests (race detector on)
	@GO="$(GO)" bash deploy/local/toolchain.sh --test
	APP_ENV=test $(GO) test -race -count=1 -timeout 20m ./...
	if [ -f $(HELLO)/go.mod ]; then cd $(HELLO) && APP_ENV=test $(GO) test -race -count=1 ./...; fi

lint: deps ## gofmt, go vet and staticcheck
	@files="$$($(GOFMT) -l .)"; \
	if [ -n "$$files" ]; then echo "These files need gofmt:"; echo "$$files"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	$(GO) mod tidy -diff
	if [ -f $(HELLO)/go.mod ]; then cd $(HELLO) && $(GO) mod tidy -diff && $(GO) vet ./...; fi

bench: deps services ## Run the benchmarks in bench/
	APP_ENV=test $(GO) test -run '^$$' -bench . -benchtime 3s ./bench/...

build: deps ## Build bin/veza
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/veza ./cmd/veza

clean: ## Remove build output (bin/); var/ is kept
	rm -rf bin/ $(HELLO)/bin/

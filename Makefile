# meetcoord: `make run` starts a dev node, `make test` runs every test against throwaway servers.
SHELL := /bin/bash
GO ?= go
CACHE := $(CURDIR)/.cache
BIN := $(CACHE)/bin

.PHONY: run build test test-unit generate lint bench clean

build:
	$(GO) build -o meetcoord ./cmd/meetcoord

# Dev mode: no configuration needed; every variable of the configuration table is still honoured.
run:
	$(GO) run ./cmd/meetcoord serve --dev

# Installs what the tests need when missing (redis-server with apt; livekit-server built once into
# .cache), starts a throwaway Redis on a free loopback port, runs every test with the race
# detector against them (tests start their own livekit-server processes), and stops Redis.
test:
	@set -euo pipefail; \
	livekit=$$(scripts/livekit-server.sh $(CACHE)/livekit-server/v1.13.5); \
	url=$$(scripts/test-redis.sh start $(CACHE)/test-redis); \
	trap 'scripts/test-redis.sh stop $(CACHE)/test-redis' EXIT; \
	echo "test redis: $$url, livekit-server: $$livekit"; \
	MEETCOORD_TEST_REDIS_URL=$$url MEETCOORD_TEST_LIVEKIT_BIN=$$livekit $(GO) test -race -count=1 -timeout 20m ./...

# Regenerates the protobuf Go code (protoc from Debian's protobuf-compiler; the Go plugin's
# version is pinned by the tool directive in go.mod).
generate:
	@command -v protoc >/dev/null || { echo "protoc missing: apt-get install protobuf-compiler"; exit 1; }
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/protoc-gen-go google.golang.org/protobuf/cmd/protoc-gen-go
	protoc --plugin=protoc-gen-go=$(BIN)/protoc-gen-go --go_out=. --go_opt=paths=source_relative messages/*.proto

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...

# Request-entry polls per second through the gateway vs a bare net/http handler.
bench:
	@set -euo pipefail; \
	url=$$(scripts/test-redis.sh start $(CACHE)/test-redis); \
	trap 'scripts/test-redis.sh stop $(CACHE)/test-redis' EXIT; \
	MEETCOORD_TEST_REDIS_URL=$$url $(GO) test -run '^$$' -bench . -benchtime 5s ./gateway/...

clean:
	rm -rf $(CACHE) meetcoord

# meetcoord: `make run` starts a dev node, `make test` runs every test against throwaway servers.
SHELL := /bin/bash
GO ?= go
CACHE := $(CURDIR)/.cache
BIN := $(CACHE)/bin

.PHONY: run build test test-stress test-browser fuzz generate lint chart-check image bench bench-cluster cluster jepsen clean

build:
	$(GO) build -o meetcoord ./cmd/meetcoord

# The whole product on one machine, no configuration needed (scripts/run.sh): a dev-mode
# livekit-server and meetcoord serving the reference front end and a development login page on
# http://127.0.0.1:8080/. Every variable of the configuration table is still honoured.
run:
	@scripts/run.sh

# Installs what the tests need when missing (redis-server, etcd-server and chromium with apt;
# livekit-server, kube-apiserver and helm built once into .cache), starts a throwaway Redis and
# etcd on free loopback ports, runs every test with the race detector against them (but the
# browser suite: docs/decisions.md; tests start
# their own livekit-server and kube-apiserver processes and meetcoord nodes), and stops Redis and
# etcd.
test:
	@set -euo pipefail; \
	livekit=$$(scripts/livekit-server.sh $(CACHE)/livekit-server/v1.13.5); \
	kubeapiserver=$$(scripts/kube-apiserver.sh $(CACHE)/kube-apiserver/v1.34.0); \
	helm=$$(scripts/helm.sh $(CACHE)/helm/v3.22.0); \
	chromium=$$(scripts/chromium.sh); \
	url=$$(scripts/test-redis.sh start $(CACHE)/test-redis); \
	trap 'scripts/test-redis.sh stop $(CACHE)/test-redis; scripts/test-etcd.sh stop $(CACHE)/test-etcd' EXIT; \
	etcd=$$(scripts/test-etcd.sh start $(CACHE)/test-etcd); \
	echo "test redis: $$url, etcd: $$etcd, livekit-server: $$livekit, chromium: $$chromium"; \
	export MEETCOORD_TEST_REDIS_URL=$$url MEETCOORD_TEST_ETCD_ENDPOINTS=$$etcd MEETCOORD_TEST_LIVEKIT_BIN=$$livekit \
		MEETCOORD_TEST_CHROMIUM=$$chromium MEETCOORD_TEST_KUBE_APISERVER=$$kubeapiserver MEETCOORD_HELM_BIN=$$helm; \
	$(GO) test -race -count=1 -timeout 25m $$($(GO) list ./... | grep -v -e /gateway/frontendtest -e /deploy/chartcheck); \
	echo "browser suite (alone: Chromium takes both cores while a page loads; no race detector: docs/decisions.md)"; \
	$(GO) test -count=1 -timeout 15m ./gateway/frontendtest/

# The browser suite alone (gateway/frontendtest): the reference front end in headless Chromium
# against a node; FRONTEND_DIR=<dist> overrides ../shared/meet-frontend/dist.
test-browser:
	@set -euo pipefail; \
	livekit=$$(scripts/livekit-server.sh $(CACHE)/livekit-server/v1.13.5); \
	chromium=$$(scripts/chromium.sh); \
	url=$$(scripts/test-redis.sh start $(CACHE)/test-redis); \
	trap 'scripts/test-redis.sh stop $(CACHE)/test-redis' EXIT; \
	MEETCOORD_TEST_REDIS_URL=$$url MEETCOORD_TEST_LIVEKIT_BIN=$$livekit MEETCOORD_TEST_CHROMIUM=$$chromium \
	MEETCOORD_TEST_FRONTEND_DIR=$${FRONTEND_DIR:-} \
		$(GO) test -count=1 -timeout 20m -v ./gateway/frontendtest/

# A local three-node cluster on one Redis and one etcd (loopback), for people to try: nodes on
# 127.0.0.1:8081..8083 in dev mode. Ctrl-C stops everything.
cluster:
	@set -euo pipefail; \
	$(GO) build -o $(BIN)/meetcoord ./cmd/meetcoord; \
	url=$$(scripts/test-redis.sh start $(CACHE)/cluster-redis); \
	etcd=$$(scripts/test-etcd.sh start $(CACHE)/cluster-etcd); \
	trap 'kill 0; scripts/test-redis.sh stop $(CACHE)/cluster-redis; scripts/test-etcd.sh stop $(CACHE)/cluster-etcd' EXIT; \
	for i in 1 2 3; do \
		issuer=""; [ $$i = 1 ] || issuer=http://127.0.0.1:8081/dev-oidc; \
		LISTEN_ADDR=127.0.0.1:808$$i REDIS_URL=$$url SECRET_KEY=$${SECRET_KEY:-local-cluster-secret-key-of-32-bytes!} CLUSTER_PROVIDER=etcd ETCD_ENDPOINTS=$$etcd OIDC_ISSUER=$$issuer \
			DEV_OIDC_KEY_FILE=$(CACHE)/cluster-oidc-key.pem $(BIN)/meetcoord serve --dev & \
	done; \
	echo "nodes on 127.0.0.1:8081-8083 (redis $$url, etcd $$etcd), node 1 serves the dev OIDC issuer;"; \
	echo "a token: LISTEN_ADDR=127.0.0.1:8081 DEV_OIDC_KEY_FILE=$(CACHE)/cluster-oidc-key.pem go run ./cmd/meetcoord dev-token --sub you"; \
	wait

# Runs each fuzz target for FUZZTIME (CI: 10s). A finding fails the run; go test writes its input
# to the package's testdata/fuzz, where it stays as a regression case once fixed.
FUZZTIME ?= 60s
FUZZ_TARGETS := ./gateway/gatewayfuzz:FuzzRequestDecoders ./gateway/gatewayfuzz:FuzzWebhookReceiver ./gateway/slug:FuzzMake \
	./gateway/lobbyid:FuzzParseSecret ./cmd/meetcoord/config:FuzzLoadConfig
fuzz:
	@set -euo pipefail; \
	for target in $(FUZZ_TARGETS); do \
		pkg=$${target%%:*}; name=$${target##*:}; \
		echo "fuzz $$name ($$pkg) for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$name$$" -fuzztime $(FUZZTIME) $$pkg; \
	done

# Regenerates the protobuf Go code (protoc from Debian's protobuf-compiler; the Go plugin's
# version is pinned by the tool directive in go.mod). room.proto imports LiveKit's webhook
# message from the protobufs/ of the github.com/livekit/protocol version go.mod names.
generate:
	@command -v protoc >/dev/null || { echo "protoc missing: apt-get install protobuf-compiler"; exit 1; }
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/protoc-gen-go google.golang.org/protobuf/cmd/protoc-gen-go
	protoc --plugin=protoc-gen-go=$(BIN)/protoc-gen-go --go_out=. --go_opt=paths=source_relative \
		-I . -I "$$($(GO) list -m -f '{{.Dir}}' github.com/livekit/protocol)/protobufs" messages/*.proto

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...

# The Helm chart (deploy/helm/meetcoord): helm lint and helm template with the default values and
# with ci/full-values.yaml (every option on), then deploy/chartcheck, which renders the chart in
# several configurations and decodes every object strictly with client-go's scheme. helm is built
# once from the Go module proxy into .cache (scripts/helm.sh). `make test` leaves deploy/chartcheck
# to this target: it needs helm.
CHART := deploy/helm/meetcoord
chart-check:
	@set -euo pipefail; \
	helm=$$(scripts/helm.sh $(CACHE)/helm/v3.22.0); \
	for values in "" $(CHART)/ci/full-values.yaml; do \
		flags=$${values:+--values $$values}; \
		echo "helm lint and template: $${values:-default values}"; \
		$$helm lint --strict $(CHART) $$flags; \
		$$helm template meetcoord $(CHART) --kube-version 1.34.0 $$flags >/dev/null; \
	done; \
	MEETCOORD_HELM_BIN=$$helm $(GO) test -count=1 ./deploy/chartcheck/

# The container image without a registry (the Dockerfile needs one for its golang stage): a static
# binary built here, the CA bundle, on a scratch base assembled with buildah (apt-get install
# buildah). Not run by CI: the static build alone takes minutes on a fresh machine.
IMAGE ?= meetcoord:dev
image:
	scripts/image.sh $(IMAGE)

# One table (docs/performance.md): lobby polls and signed webhooks per second against bare
# net/http counterparts (wrk from the same machine, both as processes), heap per active room
# against a grain that does nothing, the resident set size at 100,000 rooms, Redis bytes per
# knock at 1,000 waiting against 10, and the cross-node poll latency against the local one. A
# Redis and an etcd of its own (it flushes that Redis); exits 1 when a goal is missed. Not part
# of `make test`: it takes about 4 minutes and wants a quiet machine. BENCH_ONLY=polls,webhooks
# measures some figures only; BENCH_DURATION is each side's time under wrk, split in three
# alternating rounds; BENCH_PROFILE=1 saves the node's CPU and allocation profiles of the first
# round and its heap profile in .cache/bench (go tool pprof).
BENCH_DURATION ?= 10s
bench:
	@set -euo pipefail; \
	command -v wrk >/dev/null || { echo "wrk missing: installing it with apt-get" >&2; apt-get update -qq && apt-get install -y -qq wrk; }; \
	$(GO) build -o $(BIN)/meetcoord ./cmd/meetcoord; \
	$(GO) build -o $(BIN)/meetcoord-bench ./cmd/meetcoord-bench; \
	url=$$(scripts/test-redis.sh start $(CACHE)/bench-redis); \
	trap 'scripts/test-redis.sh stop $(CACHE)/bench-redis; scripts/test-etcd.sh stop $(CACHE)/bench-etcd' EXIT; \
	etcd=$$(scripts/test-etcd.sh start $(CACHE)/bench-etcd); \
	$(BIN)/meetcoord-bench -meetcoord $(BIN)/meetcoord -redis $$url -etcd $$etcd -dir $(CACHE)/bench \
		-duration $(BENCH_DURATION) -only "$${BENCH_ONLY:-}" $${BENCH_PROFILE:+-profile}

# Three node processes on one Redis and etcd: lobby poll latency (p50/p99) for rooms hosted by
# the receiving node and by another node; kill -9 of a node hosting a third of 10,000 rooms (time
# to the first success for a moved room, moved rooms re-activated per second).
bench-cluster:
	@set -euo pipefail; \
	url=$$(scripts/test-redis.sh start $(CACHE)/test-redis); \
	trap 'scripts/test-redis.sh stop $(CACHE)/test-redis; scripts/test-etcd.sh stop $(CACHE)/test-etcd' EXIT; \
	etcd=$$(scripts/test-etcd.sh start $(CACHE)/test-etcd); \
	MEETCOORD_TEST_REDIS_URL=$$url MEETCOORD_TEST_ETCD_ENDPOINTS=$$etcd \
		$(GO) test -run '^$$' -bench BenchmarkLobbyPollLatency -benchtime 3000x ./cluster/; \
	MEETCOORD_TEST_REDIS_URL=$$url MEETCOORD_TEST_ETCD_ENDPOINTS=$$etcd \
		$(GO) test -run '^$$' -bench BenchmarkNodeLoss -benchtime 1x -timeout 20m ./cluster/

# The checked history (cluster/jepsen_test.go) in its long form: five runs of 60 s, each of random
# lobby and room clients against three node processes while a nemesis kills -9, pauses and
# restarts nodes and crashes Redis, each run's history checked for linearizability per room
# (porcupine). `make test` runs it once for 15 s. JEPSEN_DURATION and JEPSEN_COUNT override.
JEPSEN_DURATION ?= 60s
JEPSEN_COUNT ?= 5
jepsen:
	@set -euo pipefail; \
	url=$$(scripts/test-redis.sh start $(CACHE)/test-redis); \
	trap 'scripts/test-redis.sh stop $(CACHE)/test-redis; scripts/test-etcd.sh stop $(CACHE)/test-etcd' EXIT; \
	etcd=$$(scripts/test-etcd.sh start $(CACHE)/test-etcd); \
	MEETCOORD_TEST_REDIS_URL=$$url MEETCOORD_TEST_ETCD_ENDPOINTS=$$etcd MEETCOORD_JEPSEN_DURATION=$(JEPSEN_DURATION) \
		$(GO) test -race -count=$(JEPSEN_COUNT) -timeout 60m -v -run '^TestJepsen' ./cluster/

# The whole suite with both cores busy (stress-ng, installed with apt when missing, one CPU
# burner per core for as long as the suite runs), then the checked history's long form: what
# production's busy nodes see, and what CI's loaded machines see. Each run prints its time.
test-stress:
	@set -euo pipefail; \
	command -v stress-ng >/dev/null || { echo "stress-ng missing: installing it with apt-get" >&2; \
		export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq stress-ng; }; \
	stress-ng --cpu $$(nproc) --cpu-load 100 --quiet & burner=$$!; \
	trap 'kill $$burner 2>/dev/null || true' EXIT; \
	started=$$(date +%s); \
	$(MAKE) --no-print-directory test; \
	$(MAKE) --no-print-directory jepsen; \
	echo "test-stress passed in $$(( $$(date +%s) - started )) s with $$(nproc) CPU burners"

clean:
	rm -rf $(CACHE) meetcoord

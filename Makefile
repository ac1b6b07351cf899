# kvcloud build and test entry points, named as Cluster API providers name theirs.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

# Every target runs on a current Node LTS: the system one when new enough, else a pinned project-local one.
NODE_BIN := $(shell hack/node.sh)
export PATH := $(NODE_BIN):$(CURDIR)/node_modules/.bin:$(PATH)
export KVCLOUD_CACHE ?= $(HOME)/.cache/kvcloud

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

.PHONY: deps
deps: node_modules/.installed ## install npm dependencies from the lockfile

.PHONY: tools
tools: ## build the upstream binaries and CRDs from their Go modules into ~/.cache/kvcloud
	e2e/tools/build.sh

.PHONY: lint
lint: deps ## eslint with typescript-eslint's strict type-checked rules
	eslint --max-warnings 0 .

.PHONY: typecheck
typecheck: deps ## tsc --noEmit over the whole project
	tsc --noEmit -p tsconfig.json

.PHONY: generate
generate: deps ## regenerate CRD YAML under config/ from the TypeScript schemas
	tsx hack/generate-crds.ts

.PHONY: verify-generate
verify-generate: deps ## fail when the generated files under config/ differ from the schemas
	tsx hack/generate-crds.ts --check

.PHONY: release-manifests
release-manifests: deps ## clusterctl repository of the infrastructure and control plane providers in out/release (RELEASE_VERSION=v0.1.0)
	tsx packaging/release-manifests.ts $(if $(RELEASE_VERSION),--version $(RELEASE_VERSION))

.PHONY: test-unit
test-unit: deps ## unit tests with coverage
	c8 --reporter=text-summary --reporter=lcov --report-dir=out/coverage mocha --config .mocharc.unit.json

.PHONY: test-e2e
# E2E=<files or globs> runs only those suites (for example E2E=e2e/suites/controlplane/upgrade.e2e.ts);
# E2E_SHARDS=N runs them as N parallel shards, each in its own network namespace, logs in out/e2e/.
E2E ?= e2e/suites/**/*.e2e.ts
E2E_SHARDS ?= 1
test-e2e: deps tools ## end-to-end suites in private network namespaces (needs root; E2E=<files>, E2E_SHARDS=N)
	tsx e2e/run-shards.ts --shards $(E2E_SHARDS) $(foreach f,$(E2E),'$(f)')

.PHONY: test
test: lint typecheck verify-generate test-unit test-e2e ## everything CI runs

.PHONY: dev-up
dev-up: deps tools ## start a local management cluster with Cluster API in the background (needs root)
	tsx localcloud/kvcloud-dev.ts up --with-capi

.PHONY: dev-down
dev-down: deps ## stop the local management cluster
	tsx localcloud/kvcloud-dev.ts down

.PHONY: dev-status
dev-status: deps ## show the local management cluster and how to reach it
	tsx localcloud/kvcloud-dev.ts status

.PHONY: build
build: deps ## compile the shipped components (no tests, test fakes, suites or scripts) to out/dist
	tsc -p tsconfig.build.json

.PHONY: clean
clean: ## remove build outputs (the upstream binary cache stays; `make clean-cache` removes it)
	rm -rf out coverage .tools node_modules

.PHONY: clean-cache
clean-cache: ## remove ~/.cache/kvcloud (the next `make tools` builds everything again)
	rm -rf "$(KVCLOUD_CACHE)"

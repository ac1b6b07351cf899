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

.PHONY: image
# The Dockerfile's images without Docker: an OCI layout (out/image/latest) with one image per component, made from
# this tree's compiled programs on a base from this machine's Node LTS and Debian libraries (packaging/image.ts).
image: deps ## kvcloud's component images as an OCI layout in out/image/latest, offline (no Docker engine or registry)
	e2e/tools/build.sh csi-spec csi-registration csi-snapshotter cri-tools
	tsx packaging/image.ts

.PHONY: release
# Rewrites out/release whole, so SHA256SUMS sums this release's files only (packaging/release.ts).
release: image ## out/release afresh: the clusterctl repositories, the images as an OCI archive and SHA256SUMS (RELEASE_VERSION=v0.1.0)
	tsx packaging/release.ts $(if $(RELEASE_VERSION),--version $(RELEASE_VERSION))

.PHONY: test-unit
# Coverage floor of the components' code (reconcilers included), every source file counted even if no test loads it.
COVERAGE_FLOOR := --lines 88 --branches 80 --functions 80
test-unit: deps ## unit tests with coverage; fails below the floor for providers/
	c8 --reporter=text-summary --reporter=lcov --report-dir=out/coverage mocha --config .mocharc.unit.json
	c8 check-coverage --temp-directory out/coverage/tmp --include 'providers/**' --exclude '**/*.test.ts' --exclude '**/*.testdata.ts' --all $(COVERAGE_FLOOR)

.PHONY: test-e2e
# E2E=<files or globs> runs only those suites (for example E2E=e2e/suites/controlplane/upgrade.e2e.ts);
# E2E_SHARDS=N runs them as N parallel shards, each in its own network namespace, logs in out/e2e/.
# The pod runner runs kvcloud's own components from the images `make image` builds, so a file missing from an image
# fails the suites (localcloud/cluster/image-rootfs.ts); E2E_IMAGE_MODE= (empty) runs them from the work tree.
E2E ?= e2e/suites/**/*.e2e.ts
E2E_SHARDS ?= 2
E2E_IMAGE_MODE ?= 1
test-e2e: deps tools $(if $(E2E_IMAGE_MODE),image) ## end-to-end suites in private network namespaces (needs root; E2E=<files>, E2E_SHARDS=N)
	$(if $(E2E_IMAGE_MODE),KVCLOUD_IMAGE_LAYOUT="$$(realpath out/image/latest)") tsx e2e/run-shards.ts --shards $(E2E_SHARDS) $(foreach f,$(E2E),'$(f)')

.PHONY: test-autoscaler
# The real cluster-autoscaler is not on the Go module proxy, so it is not a `make tools` program and not part of
# `make test`: build it from its public repositories (providers/autoscaler/README.md says how) and give its path.
test-autoscaler: cluster-autoscaler-binary deps tools ## the real cluster-autoscaler, clusterapi and externalgrpc, scaling a tenant (needs root; CLUSTER_AUTOSCALER=<binary>)
	CLUSTER_AUTOSCALER='$(abspath $(CLUSTER_AUTOSCALER))' tsx e2e/run-shards.ts --shards 1 e2e/suites/autoscaler/cluster-autoscaler.peer.ts

.PHONY: cluster-autoscaler-binary
cluster-autoscaler-binary: # before anything is built: test-autoscaler without a binary fails at once
	@if [[ -z "$(CLUSTER_AUTOSCALER)" || ! -x "$(CLUSTER_AUTOSCALER)" ]]; then \
	  echo "test-autoscaler: CLUSTER_AUTOSCALER must name an executable cluster-autoscaler built with -tags clusterapi,externalgrpc (got '$(CLUSTER_AUTOSCALER)')" >&2; exit 1; fi

.PHONY: test-peers
# The real peers are not on the Go module proxy, so they are not `make tools` programs and not part of `make test`:
# build CAPK from its public repository outside this one (bench/peers/README.md says how) and give the manager binary
# and the source tree it was built from (its config/ gives the release manifests, its templates/ the user manifests).
test-peers: capk-inputs deps tools ## the real CAPK beside kvcloud's infrastructure provider as an oracle (needs root; CAPK_BIN=<manager> CAPK_SRC=<source tree>)
	CAPK_BIN='$(abspath $(CAPK_BIN))' CAPK_SRC='$(abspath $(CAPK_SRC))' tsx e2e/run-shards.ts --shards 1 e2e/peers/capk.peer.ts

.PHONY: capk-inputs
capk-inputs: # before anything is built: test-peers without CAPK fails at once
	@if [[ -z "$(CAPK_BIN)" || ! -x "$(CAPK_BIN)" || ! -f "$(CAPK_SRC)/config/default/kustomization.yaml" ]]; then \
	  echo "test-peers: CAPK_BIN must name CAPK's manager binary and CAPK_SRC the source tree it was built from (got '$(CAPK_BIN)', '$(CAPK_SRC)')" >&2; exit 1; fi

.PHONY: test-kamaji-peer
# Kamaji is not on the Go module proxy either: build it from its public repository outside this one
# (bench/peers/README.md says how) and give its binary and the source tree whose charts/kamaji installs it.
# Its chart mounts an emptyDir at /tmp, which would hide the pod runner's volume sources if the run directory were
# under /tmp, so the run keeps it in /var/tmp.
test-kamaji-peer: kamaji-inputs deps tools ## the real Kamaji beside kvcloud's control plane provider as an oracle (needs root; KAMAJI_BIN=<binary> KAMAJI_SRC=<source tree>)
	TMPDIR=/var/tmp KAMAJI_BIN='$(abspath $(KAMAJI_BIN))' KAMAJI_SRC='$(abspath $(KAMAJI_SRC))' tsx e2e/run-shards.ts --shards 1 e2e/peers/kamaji.peer.ts

.PHONY: kamaji-inputs
kamaji-inputs: # before anything is built: test-kamaji-peer without Kamaji fails at once
	@if [[ -z "$(KAMAJI_BIN)" || ! -x "$(KAMAJI_BIN)" || ! -f "$(KAMAJI_SRC)/charts/kamaji/Chart.yaml" ]]; then \
	  echo "test-kamaji-peer: KAMAJI_BIN must name Kamaji's binary and KAMAJI_SRC the source tree it was built from (got '$(KAMAJI_BIN)', '$(KAMAJI_SRC)')" >&2; exit 1; fi

.PHONY: checks
checks: lint typecheck verify-generate test-unit ## the static checks and the unit tests

.PHONY: test
# The checks run beside the e2e suites, niced: the suites leave about a fifth of the two cores idle while control
# planes and VMs come up, and the checks fit there (one after the other they cost about two minutes of the budget, and
# on a cold machine they overlap the upstream builds). Their output is printed whole when they end (out/checks.log);
# the target fails if either fails, and only after both have ended.
test: deps ## everything CI runs: the checks, and beside them the e2e suites
	@mkdir -p out
	@( rc=0; nice -n 10 $(MAKE) --no-print-directory --keep-going checks > out/checks.log 2>&1 || rc=$$?; \
	   cat out/checks.log; echo "test: the checks ended with exit code $$rc"; exit $$rc ) & checks=$$!; \
	e2e=0; $(MAKE) --no-print-directory test-e2e || e2e=$$?; \
	rc=0; wait $$checks || rc=$$?; \
	echo "test: checks exit code $$rc, e2e exit code $$e2e"; [[ $$rc == 0 && $$e2e == 0 ]]

.PHONY: demo
demo: deps tools ## the main job: local cloud, providers and a tenant cluster, reachable from this shell; Ctrl-C stops it (CLUSTERS=3 for three; needs root)
	tsx localcloud/cli/kvcloud.ts demo $(if $(CLUSTERS),--clusters $(CLUSTERS))

.PHONY: demo-down
demo-down: deps ## stop `make demo` from another shell and remove everything it made
	tsx localcloud/cli/kvcloud.ts demo down

.PHONY: dev-up
dev-up: deps tools ## start the local cloud (Cluster API, kvcloud's providers, KubeVirt simulator, DataStore) in the background (needs root)
	tsx localcloud/cli/kvcloud.ts local up

.PHONY: dev-down
dev-down: deps ## stop the local cloud and remove everything it made
	tsx localcloud/cli/kvcloud.ts local down

.PHONY: dev-status
dev-status: deps ## show whether the local cloud runs and how to reach it
	tsx localcloud/cli/kvcloud.ts local status

.PHONY: kind-up
# Tilt on kind, as Cluster API providers are developed (hack/kind-up.sh, the Tiltfile); needs Docker, Tilt and Go.
kind-up: deps release-manifests ## kind cluster with KubeVirt (emulation), CDI, MetalLB, cert-manager and Cluster API, then `tilt up` (KIND_CLUSTER_NAME=kvcloud)
	hack/kind-up.sh

.PHONY: kind-down
kind-down: ## delete the kind cluster of `make kind-up`
	hack/kind-down.sh

.PHONY: build
build: deps ## compile the shipped components (no tests, test fakes, suites or scripts) to out/dist
	tsc -p tsconfig.build.json

.PHONY: clean
clean: ## remove build outputs (the upstream binary cache stays; `make clean-cache` removes it)
	rm -rf out coverage .tools node_modules

.PHONY: clean-cache
clean-cache: ## remove ~/.cache/kvcloud (the next `make tools` builds everything again)
	rm -rf "$(KVCLOUD_CACHE)"

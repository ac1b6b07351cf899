#!/usr/bin/env bash
# Builds kvcloud's kind config checker (main.go here, on kind's config loader at KIND_VERSION) into
# ~/.cache/kvcloud/bin/kind-config-check-<version>/. Not in `make tools`' default set: hack/kind-config.test.ts builds
# it on first use through e2e/tools/build.sh; editing the program rebuilds it.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib.sh
source "$here/../lib.sh"
build_own_program kind-config-check "$KIND_VERSION" sigs.k8s.io/kind

#!/usr/bin/env bash
# Builds kvcloud's OCI layout checker (main.go here: go-containerregistry at GO_CONTAINERREGISTRY_VERSION reading and
# validating a layout) into ~/.cache/kvcloud/bin/oci-layout-check-<version>/, from the Go module proxy only. Not part
# of `make tools`' default set: packaging/image.test.ts builds it on first use through e2e/tools/build.sh; editing the
# program rebuilds it.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib.sh
source "$here/../lib.sh"
build_own_program oci-layout-check "$GO_CONTAINERREGISTRY_VERSION" github.com/google/go-containerregistry

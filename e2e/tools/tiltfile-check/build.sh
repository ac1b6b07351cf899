#!/usr/bin/env bash
# Builds kvcloud's Tiltfile checker (main.go here, on go.starlark.net at STARLARK_VERSION) into
# ~/.cache/kvcloud/bin/tiltfile-check-<version>/. Not in `make tools`' default set: packaging/tiltfile.test.ts builds
# it on first use through e2e/tools/build.sh; editing the program rebuilds it.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib.sh
source "$here/../lib.sh"
build_own_program tiltfile-check "$STARLARK_VERSION" go.starlark.net

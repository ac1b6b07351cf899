#!/usr/bin/env bash
# Builds kvcloud's baseline program (main.go here: k8s.io/cri-streaming at CRI_STREAMING_VERSION behind a CRI
# socket, with a process backend) into ~/.cache/kvcloud/bin/cri-streaming-baseline-<version>/, from the Go module
# proxy only. Not part of `make tools`' default set: bench/streaming-throughput.ts builds it on first use through
# e2e/tools/build.sh. The output records a digest of this folder, so a change to the program rebuilds it.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib.sh
source "$here/../lib.sh"

name=cri-streaming-baseline
out=$(out_dir "$name" "$CRI_STREAMING_VERSION")
digest=$(source_digest "$here")
if built_from_source "$out" "$digest"; then
  log "$name $CRI_STREAMING_VERSION already built in $out"
  exit 0
fi

phase_timer "$name"
work=$(work_dir "$name")
cd "$work"
# The library and the CRI API it serves come from the same Kubernetes release.
go mod edit -require="k8s.io/cri-streaming@$CRI_STREAMING_VERSION" -require="k8s.io/cri-api@$CRI_STREAMING_VERSION"
require_sumdb_or_off "$name"
go list -deps . >/dev/null
phase "downloading the module graph"
rm -rf "$out"; mkdir -p "$out"
nice go build -ldflags "-s -w" -o "$out/$name" .
phase "go build"
"$out/$name" -h 2>&1 | grep -q -- -cri-socket
echo "$digest" >"$out/source.sha256"
cp go.mod "$out/program.go.mod"
rm -rf "$work"
mark_built "$out"
log "$name $CRI_STREAMING_VERSION built into $out"

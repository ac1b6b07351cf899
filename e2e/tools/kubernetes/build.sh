#!/usr/bin/env bash
# Builds kube-apiserver, kube-controller-manager, kube-scheduler, kubeadm and kubectl at KUBERNETES_VERSION into
# ~/.cache/kvcloud/bin/kubernetes-<version>/, and the three control plane programs at each of
# KUBERNETES_OLDER_VERSIONS into kubernetes-<version>-unoptimized/, from the Go module proxy only.
# The older releases run only the tenant control planes the upgrade proofs start from, for a minute or two, so they
# are compiled without optimisation and inlining (-gcflags=all=-N -l): the compiler then needs 0.44 of the CPU time
# (kube-scheduler v1.36.0 from an empty cache: 254 against 575 CPU seconds), which is about ten minutes of a cold
# `make tools` on two cores. The programs' code and behaviour are upstream's; only the machine code is slower.
# Each version is a no-op when already built; a version built before a program
# joined its list gets just the missing program added.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib.sh
source "$here/../lib.sh"

# build_version VERSION FLAVOR CMD...: one release's programs into its own directory; FLAVOR is "" or "unoptimized".
build_version() {
  local KUBERNETES_VERSION=$1 flavor=$2; shift 2
  local cmds=("$@")
  local out start work gomod staging_version replaces major minor build_date ldflags pkgs pkg c dl_start build_start missing adding= gcflags=()
  out=$(out_dir kubernetes "$KUBERNETES_VERSION${flavor:+-$flavor}")
  [ "$flavor" = unoptimized ] && gcflags=(-gcflags='all=-N -l')
  if is_built "$out"; then
    missing=()
    for c in "${cmds[@]}"; do [ -x "$out/$c" ] || missing+=("$c"); done
    if [ ${#missing[@]} -eq 0 ]; then
      log "kubernetes $KUBERNETES_VERSION already built in $out"
      return 0
    fi
    log "kubernetes $KUBERNETES_VERSION: adding ${missing[*]} to $out"
    cmds=("${missing[@]}")
    adding=1
  fi

  start=$(date +%s)
  work=$(work_dir kubernetes)
  cd "$work" || return 1
  go mod edit -require="k8s.io/kubernetes@$KUBERNETES_VERSION"

  # k8s.io/kubernetes points its k8s.io/* staging modules at ./staging/src/... and requires them as v0.0.0.
  # Replace directives of a dependency are ignored, so re-state each one against the published staging module:
  # k8s.io/kubernetes v1.X.Y <-> k8s.io/<staging> v0.X.Y. Non-local replaces are copied as they are.
  log "kubernetes $KUBERNETES_VERSION: downloading k8s.io/kubernetes"
  gomod=$(go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",*$/\1/p')
  [ -f "$gomod" ] || { log "no go.mod for k8s.io/kubernetes@$KUBERNETES_VERSION"; exit 1; }
  staging_version="v0.${KUBERNETES_VERSION#v1.}"
  replaces=$(awk -v sv="$staging_version" '
    function emit(line,   f, n, i, a) {
      sub(/\/\/.*/, "", line); n = split(line, f, " "); a = 0
      for (i = 1; i <= n; i++) if (f[i] == "=>") a = i
      if (a == 0) return
      from = f[1] (a == 3 ? "@" f[2] : ""); to = f[a + 1] (a + 2 <= n ? "@" f[a + 2] : "")
      if (to ~ /^\.\/staging\/src\//) print "-replace=" from "=" f[1] "@" sv
      else if (to ~ /^[.\/]/) { print "unhandled local replace in k8s.io/kubernetes go.mod: " line > "/dev/stderr"; exit 1 }
      else print "-replace=" from "=" to
    }
    /^replace[ \t]*\(/ { inblock = 1; next }
    inblock && /^\)/  { inblock = 0; next }
    inblock           { emit($0); next }
    /^replace[ \t]/   { l = $0; sub(/^replace[ \t]+/, "", l); emit(l) }
  ' "$gomod")
  [ -n "$replaces" ] || { log "found no replace directives in $gomod"; exit 1; }
  # shellcheck disable=SC2086 # one -replace=... flag per line
  go mod edit $replaces
  log "kubernetes: $(wc -l <<<"$replaces") replace directives generated (staging modules at $staging_version)"

  # Version stamping, as hack/lib/version.sh does it. The module proxy carries no commit hash, so gitCommit is
  # left empty (what a build from a source archive without git metadata reports); the tree is a released tag.
  major=${KUBERNETES_VERSION#v}; major=${major%%.*}
  minor=${KUBERNETES_VERSION#v*.}; minor=${minor%%.*}
  build_date=$(date ${SOURCE_DATE_EPOCH:+--date=@$SOURCE_DATE_EPOCH} -u +%Y-%m-%dT%H:%M:%SZ)
  ldflags="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
    ldflags+=" -X $pkg.gitCommit= -X $pkg.gitTreeState=clean -X $pkg.buildDate=$build_date"
  done

  pkgs=()
  for c in "${cmds[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$c"); done

  # -mod=mod (lib.sh's GOFLAGS) resolves the rest of the module graph and writes go.sum in the scratch copy.
  # Checksums are verified against sum.golang.org as usual: the host itself is not reachable here, but the Go
  # command reaches the checksum database through the module proxy (GOPROXY/sumdb/sum.golang.org/...).
  log "kubernetes: downloading the module graph"
  dl_start=$(date +%s)
  go list -deps -f '{{if .Module}}{{.Module.Path}}{{end}}' "${pkgs[@]}" >/dev/null
  log "kubernetes: modules ready in $(( $(date +%s) - dl_start ))s; compiling ${cmds[*]}"
  build_start=$(date +%s)
  if [ -n "$adding" ]; then rm -f "$out/.complete"; else rm -rf "$out"; mkdir -p "$out"; fi
  nice go build "${gcflags[@]}" -ldflags "$ldflags" -o "$out/" "${pkgs[@]}"
  log "kubernetes: compiled in $(( $(date +%s) - build_start ))s"

  "$out/kube-apiserver" --version
  mark_built "$out"
  log "kubernetes $KUBERNETES_VERSION built into $out in $(( $(date +%s) - start ))s"
}

# kubectl of the cluster's own version: the one the tests and `kvcloud demo`'s printed commands use.
build_version "$KUBERNETES_VERSION" "" kube-apiserver kube-controller-manager kube-scheduler kubeadm kubectl
# Older releases only run tenant control planes (the upgrade walk starts from them): no kubeadm.
for older in ${KUBERNETES_OLDER_VERSIONS//,/ }; do
  build_version "$older" unoptimized kube-apiserver kube-controller-manager kube-scheduler
done

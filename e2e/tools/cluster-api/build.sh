#!/usr/bin/env bash
# Builds Cluster API $CLUSTER_API_VERSION from its Go modules (Go module proxy only; no git, no Docker) into
# $(out_dir cluster-api $CLUSTER_API_VERSION)/:
#   cluster-api-controller          sigs.k8s.io/cluster-api/core             (core manager)
#   kubeadm-bootstrap-controller    sigs.k8s.io/cluster-api/bootstrap/kubeadm
#   kubeadm-control-plane-controller sigs.k8s.io/cluster-api/controlplane/kubeadm (clusterctl init always installs it)
#   clusterctl                      sigs.k8s.io/cluster-api/cmd/clusterctl
#   manifests/core-components.yaml, bootstrap-components.yaml, control-plane-components.yaml, metadata.yaml
#                                   (as `make release-manifests`)
#   manifests/crds/*.yaml           the core and kubeadm-bootstrap CRDs alone, as controller-gen wrote them
# Binaries are stamped like upstream's hack/scripts/release/version.sh does, so `clusterctl version` prints the
# release. A no-op when the output is complete.
set -euo pipefail
# shellcheck source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

NAME=cluster-api
VERSION=$CLUSTER_API_VERSION
OUT=$(out_dir "$NAME" "$VERSION")
if is_built "$OUT"; then
  log "$NAME $VERSION already built in $OUT"
  exit 0
fi

export GOWORK=off
t0=$(date +%s)
phase_timer "$NAME"

require_sumdb_or_off "$NAME"

WORK=$(work_dir "$NAME")
cd "$WORK"
# versions.env is the one place to bump: pin the scratch go.mod to it.
go mod edit -require="sigs.k8s.io/cluster-api@$VERSION" \
  -replace="sigs.k8s.io/cluster-api/api=sigs.k8s.io/cluster-api/api@$VERSION"

PKGS=(sigs.k8s.io/cluster-api/core sigs.k8s.io/cluster-api/bootstrap/kubeadm sigs.k8s.io/cluster-api/cmd/clusterctl)
KCP_PKG=sigs.k8s.io/cluster-api/controlplane/kubeadm
# Download phase: every module the programs need (and nothing else), checksummed into the scratch go.sum.
go list -deps "${PKGS[@]}" "$KCP_PKG" >/dev/null
MOD_DIR=$(go list -m -f '{{.Dir}}' sigs.k8s.io/cluster-api)
MOD_TIME=$(go list -m -f '{{if .Time}}{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}{{end}}' sigs.k8s.io/cluster-api)
phase "module download"

rm -rf "$OUT"
mkdir -p "$OUT/manifests/crds" "$WORK/bin"

# Same -X flags as upstream's hack/scripts/release/version.sh (plus its -s -w). The build date is the release's
# time from the proxy, not now, so the binaries (and GOCACHE) are reproducible. gitCommit is left empty: the
# proxy does not say which commit a tag is.
if [[ $VERSION =~ ^v([0-9]+)\.([0-9]+) ]]; then major=${BASH_REMATCH[1]} minor=${BASH_REMATCH[2]}; else
  log "$NAME: $VERSION is not a semantic version"; exit 1
fi
V=sigs.k8s.io/cluster-api/version
LDFLAGS="-X '$V.gitVersion=$VERSION' -X '$V.gitMajor=$major' -X '$V.gitMinor=$minor' -X '$V.gitTreeState=clean'"
LDFLAGS+=" -X '$V.buildDate=${MOD_TIME:-1970-01-01T00:00:00Z}' -s -w"
# One invocation for the three main packages (they share almost every dependency); -o DIR/ names each binary
# after its package's last path element.
nice -n 10 go build -ldflags "$LDFLAGS" -o "$WORK/bin/" "${PKGS[@]}"
mv "$WORK/bin/core" "$OUT/cluster-api-controller"
mv "$WORK/bin/kubeadm" "$OUT/kubeadm-bootstrap-controller"
mv "$WORK/bin/clusterctl" "$OUT/clusterctl"
# Its package is also named kubeadm, so it cannot share the -o DIR/ build above.
nice -n 10 go build -ldflags "$LDFLAGS" -o "$OUT/kubeadm-control-plane-controller" "$KCP_PKG"
phase "compile"

# Manifests, as upstream's release-manifests-all: set-manifest-image (REGISTRY=registry.k8s.io/cluster-api),
# set-manifest-pull-policy IfNotPresent, then kustomize build of each config/default. clusterctl variables such as
# ${CAPI_DIAGNOSTICS_ADDRESS:=:8443} are left in place for `clusterctl init`/`generate yaml` to fill.
# kubectl's built-in kustomize builds these kustomizations; without kubectl (or with KUSTOMIZE=/path/to/kustomize)
# the kustomize version pinned in cluster-api's Makefile is built from the Go module proxy into the cache.
kustomize_build() {
  if [ -n "${KUSTOMIZE:-}" ]; then "$KUSTOMIZE" build "$1"; else kubectl kustomize "$1"; fi
}
if [ -z "${KUSTOMIZE:-}" ] && ! kubectl kustomize --help >/dev/null 2>&1; then
  kver=$(sed -n 's/^KUSTOMIZE_VER := \(v[0-9.]*\)$/\1/p' "$MOD_DIR/Makefile")
  kver=${kver:-v5.7.0}
  kdir=$(out_dir kustomize "$kver")
  if ! is_built "$kdir"; then
    log "$NAME: no kubectl; building kustomize $kver"
    rm -rf "$kdir"; mkdir -p "$kdir"
    (cd / && GOBIN=$kdir nice -n 10 go install "sigs.k8s.io/kustomize/kustomize/v5@$kver")
    mark_built "$kdir"
  fi
  KUSTOMIZE=$kdir/kustomize
fi

REGISTRY=registry.k8s.io/cluster-api
SRC=$WORK/src
mkdir -p "$SRC/core" "$SRC/bootstrap/kubeadm" "$SRC/controlplane/kubeadm"
cp -r "$MOD_DIR/core/config" "$SRC/core/"
cp -r "$MOD_DIR/bootstrap/kubeadm/config" "$SRC/bootstrap/kubeadm/"
cp -r "$MOD_DIR/controlplane/kubeadm/config" "$SRC/controlplane/kubeadm/"
chmod -R u+w "$SRC" # GOMODCACHE is read-only
set_image() { sed -i -e "s@image: .*@image: $REGISTRY/$1:$VERSION@" "$2/config/default/manager_image_patch.yaml"; }
set_pull_policy() { sed -i -e 's@imagePullPolicy: .*@imagePullPolicy: IfNotPresent@' "$1/config/default/manager_pull_policy.yaml"; }
set_image cluster-api-controller "$SRC/core"
set_image kubeadm-bootstrap-controller "$SRC/bootstrap/kubeadm"
set_pull_policy "$SRC/core"
set_image kubeadm-control-plane-controller "$SRC/controlplane/kubeadm"
set_pull_policy "$SRC/bootstrap/kubeadm"
set_pull_policy "$SRC/controlplane/kubeadm"
kustomize_build "$SRC/core/config/default" >"$OUT/manifests/core-components.yaml"
kustomize_build "$SRC/bootstrap/kubeadm/config/default" >"$OUT/manifests/bootstrap-components.yaml"
kustomize_build "$SRC/controlplane/kubeadm/config/default" >"$OUT/manifests/control-plane-components.yaml"
cp "$MOD_DIR/metadata.yaml" "$OUT/manifests/metadata.yaml"
cp "$MOD_DIR"/core/config/crd/bases/*.yaml "$MOD_DIR"/bootstrap/kubeadm/config/crd/bases/*.yaml "$OUT/manifests/crds/"
chmod -R u+w "$OUT/manifests"

# Sanity: each components file has its manager Deployment with the release image, and CRDs.
for f in core-components:cluster-api-controller bootstrap-components:kubeadm-bootstrap-controller \
  control-plane-components:kubeadm-control-plane-controller; do
  file=$OUT/manifests/${f%%:*}.yaml
  [ "$(grep -c '^kind: Deployment$' "$file")" = 1 ] && [ "$(grep -c '^kind: CustomResourceDefinition$' "$file")" -gt 0 ] &&
    grep -q "image: $REGISTRY/${f#*:}:$VERSION\$" "$file" || { log "$NAME: unexpected content in $file"; exit 1; }
done
# clusterctl writes under $XDG_CONFIG_HOME (or $HOME/.config)/cluster-api and, unless told not to, asks GitHub
# for a newer release (an error offline).
mkdir -p "$WORK/home"
HOME=$WORK/home XDG_CONFIG_HOME=$WORK/home/.config CLUSTERCTL_DISABLE_VERSIONCHECK=true \
  "$OUT/clusterctl" version -o short | grep -qx "$VERSION" || { log "$NAME: clusterctl is not stamped $VERSION"; exit 1; }
phase "manifests"

rm -rf "$WORK"
mark_built "$OUT"
log "$NAME $VERSION built into $OUT in $(($(date +%s) - t0))s"

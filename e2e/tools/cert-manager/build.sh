#!/usr/bin/env bash
# Builds cert-manager $CERT_MANAGER_VERSION from its Go modules (Go module proxy only; no git, no Docker) into
# $(out_dir cert-manager $CERT_MANAGER_VERSION)/:
#   cert-manager-controller    image quay.io/jetstack/cert-manager-controller:<version>
#   cert-manager-webhook       image quay.io/jetstack/cert-manager-webhook:<version>
#   cert-manager-cainjector    image quay.io/jetstack/cert-manager-cainjector:<version>
#   cert-manager.yaml          the static release manifest (namespace, CRDs, RBAC, Deployments, webhooks), rendered
#                              from the module's Helm chart as upstream's make/manifests.mk does
#   cert-manager.crds.yaml     the CRDs alone (upstream's second release manifest)
#   cert-manager-<version>.tgz the packaged Helm chart the manifests were rendered from
# The programs are cmd/* of this module (see go.mod for why); binaries are stamped like upstream's
# make/00_mod.mk GOLDFLAGS (pkg/util.AppVersion), so logs, user agents and --version show the release, and the
# default ACME HTTP01 solver image is quay.io/jetstack/cert-manager-acmesolver:<version>.
# acmesolver (only for ACME HTTP01) and startupapicheck (a Helm hook, off in the static manifest) are not built:
# their code is in cmd/ only, which the module does not publish. A no-op when the output is complete.
set -euo pipefail
# shellcheck source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

NAME=cert-manager
VERSION=$CERT_MANAGER_VERSION
OUT=$(out_dir "$NAME" "$VERSION")
if is_built "$OUT"; then
  log "$NAME $VERSION already built in $OUT"
  exit 0
fi

export GOWORK=off
t0=$(date +%s)
phase_timer "$NAME"

require_sumdb_or_off "$NAME"

# mod_field MODULE@VERSION FIELD: one string field of `go mod download -json` (Dir, GoMod, Error, ...).
mod_field() { { go mod download -json "$1" 2>/dev/null || true; } | sed -n "s/^[[:space:]]*\"$2\": \"\(.*\)\",\{0,1\}\$/\1/p" | head -1; }

WORK=$(work_dir "$NAME")
cd "$WORK"
# versions.env is the one place to bump: pin the scratch go.mod to it.
go mod edit -require="github.com/cert-manager/cert-manager@$VERSION"
MOD_DIR=$(mod_field "github.com/cert-manager/cert-manager@$VERSION" Dir)
[ -d "$MOD_DIR" ] || { log "$NAME: cannot download github.com/cert-manager/cert-manager@$VERSION"; exit 1; }

# Venafi's vcert: cert-manager 1.21 requires a v5.13 release, whose zips the module proxy reachable here refuses
# ("403 This module version is not available"), while it serves v5.12.3 (what cert-manager 1.20 uses).
# v5.13 only adds what cert-manager's Venafi issuer needs for Palo Alto NGTS (package pkg/venafi/ngts and
# endpoint.ConnectorTypeNGTS); every other vcert API cert-manager calls is in v5.12.3. So, only when the
# required version cannot be downloaded: build against a copy of v5.12.3 plus those two names, declared such
# that vcert refuses NGTS (its NewClient answers "ConnectorType is not defined" and the Issuer reports it).
# Venafi TPP and Venafi Cloud issuers keep vcert's real code; the Venafi issuer is the only part affected.
VCERT=github.com/Venafi/vcert/v5
VCERT_FALLBACK=v5.12.3
vcert_want=$(sed -n "s#^[[:space:]]*$VCERT \(v[^ ]*\).*#\1#p" "$MOD_DIR/go.mod" | head -1)
if [ -n "$vcert_want" ] && ! go mod download "$VCERT@$vcert_want" 2>/dev/null; then
  log "$NAME: $VCERT@$vcert_want is not served by the module proxy; using $VCERT_FALLBACK with NGTS disabled"
  vdir=$(mod_field "$VCERT@$VCERT_FALLBACK" Dir)
  [ -d "$vdir" ] || { log "$NAME: cannot download $VCERT@$VCERT_FALLBACK either"; exit 1; }
  mkdir -p third_party
  cp -r "$vdir" third_party/vcert
  chmod -R u+w third_party/vcert
  if [ ! -d third_party/vcert/pkg/venafi/ngts ]; then
    mkdir -p third_party/vcert/pkg/venafi/ngts
    cat >third_party/vcert/pkg/endpoint/kvcloud_ngts.go <<'EOF'
package endpoint

// ConnectorTypeNGTS names vcert v5.13's Palo Alto NGTS connector, which this build of vcert lacks: NewClient
// rejects it as an undefined connector type.
const ConnectorTypeNGTS ConnectorType = ConnectorTypeFirefly + 100
EOF
    cat >third_party/vcert/pkg/venafi/ngts/connector.go <<'EOF'
// Package ngts stands in for vcert v5.13's Palo Alto NGTS connector, which this build of vcert lacks; no
// value of this type is ever created.
package ngts

import "github.com/Venafi/vcert/v5/pkg/venafi/cloud"

// Connector has the method set cert-manager needs to compile.
type Connector struct{ *cloud.Connector }
EOF
  fi
  # A direct requirement, so that the copy's go.mod (its own dependencies) is part of the module graph.
  go mod edit -require="$VCERT@$vcert_want" -replace="$VCERT=./third_party/vcert"
fi

PKGS=(./cmd/controller ./cmd/webhook ./cmd/cainjector)
# Download phase: every module the programs (and hack/extractcrd, used for the manifests) need, checksummed
# into the scratch go.sum.
go list -deps "${PKGS[@]}" github.com/cert-manager/cert-manager/hack/extractcrd >/dev/null
MOD_INFO=$(go mod download -json "github.com/cert-manager/cert-manager@$VERSION")
# The proxy's .info names the commit only for some releases; upstream stamps `git rev-parse HEAD`.
GITCOMMIT=$(printf '%s\n' "$MOD_INFO" | sed -n 's/^[[:space:]]*"Hash": "\([0-9a-f]*\)",\{0,1\}$/\1/p' | head -1)
phase "module download"

# Helm: the version upstream's make pins (make/_shared/tools/00_mod.mk: tools += helm=vX), built from its Go
# module into the cache (helm's own version stamping), unless HELM=/path/to/helm is given.
if [ -z "${HELM:-}" ]; then
  hver=$(sed -n 's/^tools += helm=\(v[0-9][0-9.]*\)$/\1/p' "$MOD_DIR/make/_shared/tools/00_mod.mk" | head -1)
  hver=${hver:-v4.2.2}
  case $hver in v3.*) hmod=helm.sh/helm/v3 ;; *) hmod=helm.sh/helm/v${hver:1:1} ;; esac
  hdir=$(out_dir helm "$hver")
  if ! is_built "$hdir"; then
    log "$NAME: building helm $hver"
    rm -rf "$hdir"; mkdir -p "$hdir"
    (cd / && GOBIN=$hdir nice -n 10 go install \
      -ldflags "-w -s -X $hmod/internal/version.version=$hver -X $hmod/internal/version.gitTreeState=clean" \
      "$hmod/cmd/helm@$hver")
    mark_built "$hdir"
    phase "helm $hver (download and compile)"
  fi
  HELM=$hdir/helm
fi

rm -rf "$OUT"
mkdir -p "$OUT" "$WORK/bin"

# Same -X flags as upstream's GOLDFLAGS (make/00_mod.mk), plus its -w -s; -trimpath comes from lib.sh's GOFLAGS.
U=github.com/cert-manager/cert-manager/pkg/util
LDFLAGS="-w -s -X $U.AppVersion=$VERSION -X $U.AppGitCommit=$GITCOMMIT"
# One invocation for the programs (they share almost every dependency); -o DIR/ names each binary after its
# package's last path element.
nice -n 10 go build -ldflags "$LDFLAGS" -o "$WORK/bin/" "${PKGS[@]}"
for b in controller webhook cainjector; do mv "$WORK/bin/$b" "$OUT/cert-manager-$b"; done
nice -n 10 go build -o "$WORK/bin/extractcrd" github.com/cert-manager/cert-manager/hack/extractcrd
phase "compile"

# Manifests, as upstream's make/manifests.mk: stage the chart as $(bin_dir)/helm/cert-manager (Chart.yaml with
# the release as version and appVersion, the artifacthub annotations its yq step adds; README from its template),
# `helm package` it, `helm template` it twice (without and with CRDs) with the release flags, extract the CRDs
# with hack/extractcrd, and concatenate license header, namespace, CRDs and the rest like hack/concat-yaml.sh.
CHART_SRC=$MOD_DIR/deploy/charts/cert-manager
CHART=$WORK/helm/cert-manager
mkdir -p "$CHART/templates" "$WORK/yaml"
cp "$CHART_SRC"/templates/*.yaml "$CHART_SRC/templates/_helpers.tpl" "$CHART_SRC/templates/NOTES.txt" "$CHART/templates/"
cp "$CHART_SRC/values.yaml" "$CHART_SRC/values.schema.json" "$CHART_SRC/.helmignore" "$CHART/"
sed -e "s:{{RELEASE_VERSION}}:$VERSION:g" <"$CHART_SRC/README.template.md" >"$CHART/README.md"
prerelease=false
case $VERSION in *-*) prerelease=true ;; esac
awk -v ver="$VERSION" -v pre="$prerelease" -v keyfile="$CHART_SRC/signkey_annotation.txt" '
  /^version: / { print "version: " ver; next }
  /^appVersion: / { print "appVersion: " ver; next }
  { print }
  /^annotations:$/ {
    print "  artifacthub.io/signKey: |"
    while ((getline line < keyfile) > 0) print "    " line
    print "  artifacthub.io/prerelease: \"" pre "\""
  }' "$CHART_SRC/Chart.yaml" >"$CHART/Chart.yaml"
chmod -R u+w "$WORK/helm" # GOMODCACHE is read-only
"$HELM" package --app-version="$VERSION" --version="$VERSION" --destination "$WORK/yaml" "$CHART" >/dev/null
TGZ=$WORK/yaml/cert-manager-$VERSION.tgz
render() {
  "$HELM" template --kube-version="1.29.0" --api-versions="" --namespace=cert-manager "$@" \
    --set="creator=static" --set="startupapicheck.enabled=false" cert-manager "$TGZ" | sed -e '1{/^---$/d;}'
}
render >"$WORK/yaml/noncrd.yaml"
render --set="crds.enabled=true" >"$WORK/yaml/all.yaml"
"$WORK/bin/extractcrd" "$WORK/yaml/all.yaml" >"$WORK/yaml/crds.yaml"
sed -e "s/YEAR/2022/g" <"$MOD_DIR/hack/boilerplate-yaml.txt" >"$WORK/yaml/license.yaml" # LICENSE_YEAR in make/licenses.mk
concat_yaml() { # hack/concat-yaml.sh
  while (($#)); do cat "$1"; shift; if (($#)); then echo ""; echo "---"; fi; done
}
concat_yaml "$MOD_DIR/deploy/manifests/namespace.yaml" "$WORK/yaml/crds.yaml" "$WORK/yaml/noncrd.yaml" |
  cat "$WORK/yaml/license.yaml" - >"$OUT/cert-manager.yaml"
cat "$WORK/yaml/license.yaml" "$WORK/yaml/crds.yaml" >"$OUT/cert-manager.crds.yaml"
cp "$TGZ" "$OUT/"

# Sanity: the six CRDs, the three Deployments with the release images, and stamped binaries.
m=$OUT/cert-manager.yaml
[ "$(grep -c '^kind: CustomResourceDefinition$' "$m")" = 6 ] && [ "$(grep -c '^kind: Deployment$' "$m")" = 3 ] ||
  { log "$NAME: unexpected object counts in $m"; exit 1; }
for b in controller webhook cainjector; do
  grep -q "image: \"quay.io/jetstack/cert-manager-$b:$VERSION\"\$" "$m" || { log "$NAME: no $b image $VERSION in $m"; exit 1; }
  "$OUT/cert-manager-$b" --version | grep -q " version $VERSION " || { log "$NAME: cert-manager-$b is not stamped $VERSION"; exit 1; }
done
phase "manifests"

rm -rf "$WORK"
mark_built "$OUT"
log "$NAME $VERSION built into $OUT in $(($(date +%s) - t0))s"

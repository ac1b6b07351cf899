# Sourced by e2e/tools/csi-*/build.sh after lib.sh: builds one kubernetes-csi sidecar from its Go module.
# The sidecars pin their k8s.io dependencies with replace directives, which Go ignores in a dependency's go.mod,
# so the scratch tools module takes them over; without them the build would pick newer k8s.io modules than
# upstream tested (or fail to compile).

# upstream_replaces GOMOD: each replace directive of GOMOD as OLD[@V]=NEW@V, the argument go mod edit -replace takes.
upstream_replaces() {
  awk '
    function emit(line,   parts, lhs, rhs, n, m, l, r) {
      sub(/\/\/.*/, "", line); n = split(line, parts, "=>"); if (n != 2) return
      m = split(parts[1], l, " "); split(parts[2], r, " ")
      if (r[2] == "") { print "local replace " line > "/dev/stderr"; exit 1 }
      lhs = (m == 2) ? l[1] "@" l[2] : l[1]
      print lhs "=" r[1] "@" r[2]
    }
    /^replace \($/ { block = 1; next }
    block && /^\)/ { block = 0; next }
    block { emit($0); next }
    /^replace / { sub(/^replace /, ""); emit($0) }
  ' "$1"
}

# build_csi_sidecar NAME MODULE VERSION: builds MODULE/cmd/NAME at VERSION into the cache. No-op when built.
build_csi_sidecar() {
  local name=$1 module=$2 version=$3 out work pkg gomod r
  out=$(out_dir "$name" "$version")
  if is_built "$out"; then
    log "$name $version already built in $out"
    return 0
  fi
  phase_timer "$name"
  work=$(work_dir "$name")
  cd "$work"
  pkg=$module/cmd/$name
  require_sumdb_or_off "$name"
  go mod edit -require="$module@$version"
  gomod=$(go mod download -json "$module@$version" | sed -n 's/^\t"GoMod": "\(.*\)",\{0,1\}$/\1/p')
  [ -f "$gomod" ] || { log "$name: no go.mod for $module@$version"; return 1; }
  for r in $(upstream_replaces "$gomod"); do go mod edit -replace="$r"; done
  go list -deps -f '{{if .Module}}{{.Module.Path}}{{end}}' "$pkg" >/dev/null
  phase "downloading the module graph"
  rm -rf "$out"; mkdir -p "$out"
  # main.version is what --version prints, as upstream's release-tools stamp it.
  nice go build -ldflags "-s -w -X main.version=$version" -o "$out/$name" "$pkg"
  phase "go build"
  "$out/$name" --version | grep -qF "$version"
  mark_built "$out"
  log "$name $version built into $out"
}

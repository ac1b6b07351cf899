# Sourced by e2e/tools/csi-*/build.sh after lib.sh: builds one kubernetes-csi sidecar from its Go module.
# The sidecars pin their k8s.io dependencies with replace directives, which Go ignores in a dependency's go.mod,
# so the scratch tools module takes them over; without them the build would pick newer k8s.io modules than
# upstream tested (or fail to compile).

# upstream_replaces GOMOD VERSION: each replace directive of GOMOD as OLD[@V]=NEW@V, the argument go mod edit -replace
# takes. A replacement by a directory of the same repository (external-snapshotter's ./client) becomes that module as
# published at VERSION, the tag it was released with.
upstream_replaces() {
  awk -v version="$2" '
    function emit(line,   parts, lhs, rhs, n, m, l, r) {
      sub(/\/\/.*/, "", line); n = split(line, parts, "=>"); if (n != 2) return
      m = split(parts[1], l, " "); split(parts[2], r, " ")
      lhs = (m == 2) ? l[1] "@" l[2] : l[1]
      if (r[2] == "") { print lhs "=" l[1] "@" version; return }
      print lhs "=" r[1] "@" r[2]
    }
    /^replace \($/ { block = 1; next }
    block && /^\)/ { block = 0; next }
    block { emit($0); next }
    /^replace / { sub(/^replace /, ""); emit($0) }
  ' "$1"
}

# build_csi_sidecar NAME MODULE VERSION [CMD...]: builds MODULE/cmd/CMD at VERSION for each CMD (default: NAME) into
# the cache directory NAME-VERSION. A build.sh that defines sidecar_extras OUT has it add files to OUT before the
# build is marked complete. No-op when built.
build_csi_sidecar() {
  local name=$1 module=$2 version=$3 out work gomod r cmd pkgs=()
  shift 3
  local cmds=("${@:-$name}")
  out=$(out_dir "$name" "$version")
  if is_built "$out"; then
    log "$name $version already built in $out"
    return 0
  fi
  phase_timer "$name"
  work=$(work_dir "$name")
  cd "$work"
  for cmd in "${cmds[@]}"; do pkgs+=("$module/cmd/$cmd"); done
  require_sumdb_or_off "$name"
  go mod edit -require="$module@$version"
  gomod=$(go mod download -json "$module@$version" | sed -n 's/^\t"GoMod": "\(.*\)",\{0,1\}$/\1/p')
  [ -f "$gomod" ] || { log "$name: no go.mod for $module@$version"; return 1; }
  for r in $(upstream_replaces "$gomod" "$version"); do go mod edit -replace="$r"; done
  go list -deps -f '{{if .Module}}{{.Module.Path}}{{end}}' "${pkgs[@]}" >/dev/null
  phase "downloading the module graph"
  rm -rf "$out"; mkdir -p "$out"
  # main.version is what --version prints, as upstream's release-tools stamp it.
  for cmd in "${cmds[@]}"; do
    nice go build -ldflags "-s -w -X main.version=$version" -o "$out/$cmd" "$module/cmd/$cmd"
    "$out/$cmd" --version | grep -qF "$version"
  done
  phase "go build"
  if declare -F sidecar_extras >/dev/null; then sidecar_extras "$out"; fi
  mark_built "$out"
  log "$name $version built into $out"
}

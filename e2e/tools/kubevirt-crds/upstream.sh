# Sourced (after ../lib.sh) by kubevirt-crds/build.sh and cdi-crds/build.sh: fetch an upstream Go module at an
# exact version and give the generator module (the current directory, a work_dir copy) the requirements and
# replace directives that upstream's own go.mod relies on.

# upstream_gomod MODULE VERSION: download MODULE@VERSION and set UPSTREAM_GOMOD to its go.mod in the module
# cache (a variable, not output, so that the GONOSUMDB/GOSUMDB it may export stays in this shell).
# Checksums are verified against GOSUMDB as usual. Where sum.golang.org itself cannot be reached, Go uses the
# proxy's /sumdb/ mirror; when that mirror has no entry for MODULE@VERSION (404/410: the case for
# kubevirt.io/containerized-data-importer@v1.64.0 today), MODULE alone is exempted via GONOSUMDB; when no
# checksum database answers at all, GOSUMDB=off (modules still come from GOPROXY over TLS).
upstream_gomod() {
  local mod=$1 ver=$2 json err try
  for try in 1 2; do
    json=$(go mod download -json "$mod@$ver" 2>&1 || true)
    err=$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Error": "\(.*\)",\{0,1\}$/\1/p')
    if [ -z "$err" ]; then
      UPSTREAM_GOMOD=$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')
      return 0
    fi
    [ "$try" = 1 ] || break
    case "$err" in
      *verifying*"404 Not Found"* | *verifying*"410 Gone"*)
        log "checksum database has no entry for $mod@$ver; exempting $mod via GONOSUMDB"
        export GONOSUMDB="${GONOSUMDB:+$GONOSUMDB,}$mod" ;;
      *verifying* | *sumdb* | *sum.golang.org*)
        log "no checksum database reachable ($err); continuing with GOSUMDB=off"
        export GOSUMDB=off ;;
      *) break ;;
    esac
  done
  log "cannot download $mod@$ver: $err"
  return 1
}

# use_upstream MODULE VERSION: require MODULE@VERSION and copy every replace directive of its go.mod (Go ignores
# replaces outside the main module, yet upstream needs them: pinned k8s.io versions, v0.0.0 placeholders for
# openshift/kubectl/client-go). A replacement by a local directory (upstream's staging/src/<module>) becomes
# that module published at the same VERSION.
use_upstream() {
  local mod=$1 ver=$2 gomod line left right old_path old_ver new_path new_ver n=0
  upstream_gomod "$mod" "$ver"
  gomod=$UPSTREAM_GOMOD
  [ -f "$gomod" ] || { log "no go.mod for $mod@$ver"; return 1; }
  go mod edit -require="$mod@$ver"
  while IFS= read -r line; do
    left=${line%%=>*} right=${line#*=>}
    read -r old_path old_ver <<<"$left"
    read -r new_path new_ver <<<"$right"
    case "$new_path" in
      ./* | ../* | /*)
        log "replace $old_path => $new_path (upstream staging) becomes $old_path@$ver"
        new_path=$old_path new_ver=$ver ;;
    esac
    go mod edit -replace="$old_path${old_ver:+@$old_ver}=$new_path@$new_ver"
    n=$((n + 1))
  done < <(sed 's://.*$::' "$gomod" | grep '=>' | sed 's/^[[:space:]]*replace[[:space:]]*//')
  log "copied $n replace directives from $mod@$ver"
}

# go_sumdb_tolerant ARGS...: run `nice go ARGS...`; when it fails only because the checksum database has no entry
# (404/410) for some modules, exempt exactly those via GONOSUMDB and run it again. Everything else stays
# verified.
go_sumdb_tolerant() {
  local errs missing try
  errs=$PWD/.go-stderr  # in the work_dir copy
  for try in 1 2 3 4 5 6 7 8; do
    if nice go "$@" 2>"$errs"; then
      grep -v '^go: downloading ' "$errs" >&2 || true
      rm -f "$errs"
      return 0
    fi
    missing=$(grep -oE 'verifying (module: )?[^ :@]+@[^ :]+: reading [^ ]+/lookup/[^ :]+: (404 Not Found|410 Gone)' "$errs" |
      sed -E 's/^verifying (module: )?([^@]+)@.*/\2/' | sort -u | paste -sd, -)
    if [ -z "$missing" ]; then
      grep -v '^go: downloading ' "$errs" >&2 || true
      break
    fi
    log "checksum database has no entry for $missing; exempting via GONOSUMDB (try $try)"
    export GONOSUMDB="${GONOSUMDB:+$GONOSUMDB,}$missing"
  done
  rm -f "$errs"
  return 1
}

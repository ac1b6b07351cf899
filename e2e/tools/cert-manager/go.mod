// Tools module: lets build.sh compile cert-manager's controller, webhook and cainjector from the published
// github.com/cert-manager/cert-manager module (Go module proxy only; no git checkout, no Docker).
//
// Upstream's programs live in cmd/<name>, each its own Go module (github.com/cert-manager/cert-manager/
// controller-binary, webhook-binary, cainjector-binary) with `replace github.com/cert-manager/cert-manager => ../../`.
// Those modules are not published (the proxy has no version of them, and the root module zip leaves cmd/ out),
// so cmd/* here holds our own small main packages that assemble the published library the same way: the same
// flags and config file, the same servers, controllers and leader election. Everything they run (controllers,
// issuers, admission plugins, CA injectors, config defaulting and validation) is cert-manager's code.
//
// The module path sits under github.com/cert-manager/cert-manager/ for the same reason upstream's cmd modules do:
// Go lets only packages below that prefix import cert-manager's internal/ packages (config types, feature gates,
// the webhook server assembly).
//
// cert-manager v1.21 requires github.com/Venafi/vcert/v5 v5.13.x, which the module proxy reachable here does not
// serve; build.sh then adds a replace by a patched copy of v5.12.3 (see there). `go build ./...` in this
// directory without that replace fails for the same reason: build through build.sh.
//
// The cert-manager version here is overwritten by build.sh from versions.env (CERT_MANAGER_VERSION), the one
// place to bump; build.sh works on a scratch copy (work_dir), so go.sum is never written here.
module github.com/cert-manager/cert-manager/kvcloud-binaries

go 1.26.0

require github.com/cert-manager/cert-manager v1.21.2

// Tools module that builds etcd and etcdctl from their Go modules. The etcd binary's main package is the root
// of the server module (go.etcd.io/etcd/server/v3, server/main.go); the repository's root module
// go.etcd.io/etcd/v3 is not published to the module proxy. Both modules carry replace directives (../api etc.),
// so `go install pkg@version` refuses them, hence a module. Their sibling requirements already name the same
// release, so no replace lines are needed here. build.sh works on a scratch copy and pins both requires to
// ETCD_VERSION from ../versions.env; no go.sum is kept here.
module kvcloud/e2e/tools/etcd

go 1.26.0

require (
	go.etcd.io/etcd/etcdctl/v3 v3.7.3
	go.etcd.io/etcd/server/v3 v3.7.3
)

// Tools module: lets build.sh compile Cluster API's binaries from the published Go module (no git checkout).
// `go install sigs.k8s.io/cluster-api/...@vX` refuses because cluster-api's go.mod has a replace line
// (sigs.k8s.io/cluster-api/api => ./api). Replace lines of a dependency are ignored, so without the one
// below the build would look for sigs.k8s.io/cluster-api/api@v0.0.0-00010101000000-000000000000, which does
// not exist. The api directory is not in the cluster-api module zip (it has its own go.mod); it is published
// as its own module, tagged api/vX, at the same commit as vX.
//
// The versions here are overwritten by build.sh from versions.env (CLUSTER_API_VERSION), which is the one
// place to bump; build.sh works on a scratch copy (work_dir), so go.sum is never written here.
module kvcloud.local/e2e/tools/cluster-api

go 1.26.0

require sigs.k8s.io/cluster-api v1.14.2

replace sigs.k8s.io/cluster-api/api => sigs.k8s.io/cluster-api/api v1.14.2

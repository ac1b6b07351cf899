// Tools module of kvcloud's own baseline program: the kubelet's streaming library (k8s.io/cri-streaming) behind a
// CRI RuntimeService with a process backend, which bench/streaming-throughput.ts measures kvcloud's streaming
// server against. build.sh pins the library from ../versions.env in a scratch copy; no go.sum is kept here.
module kvcloud/e2e/tools/cri-streaming-baseline

go 1.26.0

require (
	google.golang.org/grpc v1.82.1
	k8s.io/cri-api v0.37.2
	k8s.io/cri-streaming v0.37.2
	k8s.io/utils v0.0.0-20260626114624-be93311217bd
)

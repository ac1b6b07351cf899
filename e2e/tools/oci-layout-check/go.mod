// Tools module of kvcloud's OCI layout checker: go-containerregistry's own layout reader and validator run over the
// layout `make image` writes. build.sh pins the library from ../versions.env in a scratch copy; no go.sum is kept here.
module kvcloud/e2e/tools/oci-layout-check

go 1.26.0

require github.com/google/go-containerregistry v0.22.1

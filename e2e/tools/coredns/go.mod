// Tools module that builds CoreDNS (github.com/coredns/coredns), the tenant cluster's DNS addon: the CoreDNS pods
// the tenant control plane creates run this binary inside the VMs. build.sh pins the version from
// ../versions.env in a scratch copy; no go.sum is kept here.
module kvcloud/e2e/tools/coredns

go 1.26.0

require github.com/coredns/coredns v1.12.1

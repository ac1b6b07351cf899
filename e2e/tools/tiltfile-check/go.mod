// Tools module of kvcloud's Tiltfile checker: go.starlark.net evaluating the repository's Tiltfile in Tilt's dialect
// with Tilt's built-ins recorded. build.sh pins the interpreter from ../versions.env in a scratch copy; no go.sum is
// kept here.
module kvcloud/e2e/tools/tiltfile-check

go 1.26.0

require (
	go.starlark.net v0.0.0-20260908191801-89a6a09411d5
	go.yaml.in/yaml/v3 v3.0.4
)

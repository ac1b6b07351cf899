package main

import (
	"fmt"

	"go.starlark.net/starlark"
)

// blob is Tilt's Blob: text a built-in read or made (read_file, kustomize, blob), which str() turns back to a string.
type blob string

func (b blob) String() string        { return string(b) }
func (b blob) Type() string          { return "blob" }
func (b blob) Freeze()               {}
func (b blob) Truth() starlark.Bool  { return len(b) > 0 }
func (b blob) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable type: blob") }

// liveUpdateStep is what sync, run and fall_back_on return: recorded inside the docker_build call it is passed to.
type liveUpdateStep struct {
	kind string
	args map[string]any
}

func (s *liveUpdateStep) String() string       { return fmt.Sprintf("%s(%v)", s.kind, s.args) }
func (s *liveUpdateStep) Type() string         { return "live_update_step" }
func (s *liveUpdateStep) Freeze()              {}
func (s *liveUpdateStep) Truth() starlark.Bool { return true }
func (s *liveUpdateStep) Hash() (uint32, error) {
	return 0, fmt.Errorf("unhashable type: %s", s.Type())
}

// tiltfile-check evaluates a Tiltfile with go.starlark.net in Tilt's dialect and prints, as JSON, every Tilt built-in
// it called with the arguments it gave, so a test can check what Tilt would build and deploy without Tilt. The
// built-ins that compute something (read_file, read_yaml, decode_yaml_stream, kustomize, os.*) do it for real; the
// ones that configure Tilt are recorded with Tilt's parameter names, so a misspelt keyword fails as it would in Tilt.
// Extensions (load) are refused: the Tiltfile must evaluate offline.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
	"go.starlark.net/syntax"
	"go.yaml.in/yaml/v3"
)

const usage = "usage: tiltfile-check [-kustomize '<command> <args>'] <Tiltfile>"

// The Tilt built-ins that only configure Tilt, with their parameters as Tilt declares them ("?" marks optional).
var recorded = map[string][]string{
	"allow_k8s_contexts": {"contexts"},
	"default_registry":   {"host", "host_from_cluster?", "single_name?"},
	"trigger_mode":       {"trigger_mode"},
	"watch_settings":     {"ignore?"},
	"k8s_yaml":           {"yaml", "allow_duplicates?"},
	"docker_build": {"ref", "context", "build_args?", "dockerfile?", "dockerfile_contents?", "cache?", "live_update?",
		"match_in_env_vars?", "ignore?", "only?", "entrypoint?", "container_args?", "target?", "ssh?", "secret?",
		"network?", "extra_tag?", "cache_from?", "pull?", "platform?", "extra_hosts?"},
	"k8s_resource": {"workload?", "new_name?", "port_forwards?", "extra_pod_selectors?", "trigger_mode?",
		"resource_deps?", "objects?", "auto_init?", "pod_readiness?", "links?", "labels?", "discovery_strategy?"},
	"local_resource": {"name", "cmd?", "deps?", "trigger_mode?", "resource_deps?", "ignore?", "auto_init?",
		"serve_cmd?", "cmd_bat?", "serve_cmd_bat?", "allow_parallel?", "links?", "labels?", "env?", "serve_env?",
		"readiness_probe?", "dir?", "serve_dir?"},
}

// Live update steps: values the Tiltfile passes to docker_build(live_update=...).
var steps = map[string][]string{
	"sync":         {"local_path", "remote_path"},
	"run":          {"cmd", "trigger?", "echo_off?"},
	"fall_back_on": {"paths"},
}

type call struct {
	Fn   string         `json:"fn"`
	Args map[string]any `json:"args"`
}

type checker struct {
	calls     []call
	kustomize []string
}

func main() {
	args := os.Args[1:]
	c := &checker{kustomize: []string{"kubectl", "kustomize"}}
	if len(args) == 3 && args[0] == "-kustomize" {
		c.kustomize = strings.Fields(args[1])
		args = args[2:]
	}
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	if err := c.run(args[0]); err != nil {
		var evalErr *starlark.EvalError
		if errors.As(err, &evalErr) {
			fmt.Fprintln(os.Stderr, evalErr.Backtrace())
		} else {
			fmt.Fprintln(os.Stderr, err)
		}
		os.Exit(1)
	}
	out, err := json.MarshalIndent(map[string]any{"calls": c.calls}, "", " ")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(string(out))
}

func (c *checker) run(tiltfile string) error {
	src, err := os.ReadFile(tiltfile)
	if err != nil {
		return err
	}
	// Tilt resolves a Tiltfile's relative paths against its directory.
	if err := os.Chdir(filepath.Dir(tiltfile)); err != nil {
		return err
	}
	thread := &starlark.Thread{
		Name: "tiltfile",
		Load: func(_ *starlark.Thread, module string) (starlark.StringDict, error) {
			return nil, fmt.Errorf("load(%q): the Tiltfile must evaluate offline, without extensions or other files", module)
		},
	}
	// Tilt's dialect (its starkit package): sets, while loops, top-level if/for, reassigned globals, recursion.
	opts := &syntax.FileOptions{Set: true, While: true, TopLevelControl: true, GlobalReassign: true, Recursion: true}
	_, err = starlark.ExecFileOptions(opts, thread, filepath.Base(tiltfile), src, c.predeclared())
	return err
}

func (c *checker) predeclared() starlark.StringDict {
	d := starlark.StringDict{
		"TRIGGER_MODE_AUTO":   starlark.String("TRIGGER_MODE_AUTO"),
		"TRIGGER_MODE_MANUAL": starlark.String("TRIGGER_MODE_MANUAL"),
		"read_file":           starlark.NewBuiltin("read_file", readFile),
		"read_yaml":           starlark.NewBuiltin("read_yaml", readYAML),
		"read_json":           starlark.NewBuiltin("read_json", readYAML), // JSON is YAML
		"decode_yaml_stream":  starlark.NewBuiltin("decode_yaml_stream", decodeYAMLStream),
		"blob":                starlark.NewBuiltin("blob", newBlob),
		"kustomize":           starlark.NewBuiltin("kustomize", c.runKustomize),
		"os": &starlarkstruct.Module{Name: "os", Members: starlark.StringDict{
			"getenv": starlark.NewBuiltin("os.getenv", getenv),
			"path": &starlarkstruct.Module{Name: "os.path", Members: starlark.StringDict{
				"exists": starlark.NewBuiltin("os.path.exists", pathExists),
				"join":   starlark.NewBuiltin("os.path.join", pathJoin),
			}},
		}},
	}
	for name, params := range recorded {
		d[name] = starlark.NewBuiltin(name, c.record(params, false))
	}
	for name, params := range steps {
		d[name] = starlark.NewBuiltin(name, c.record(params, true))
	}
	return d
}

// record makes a built-in that checks its arguments against Tilt's parameters and records them: as a call, or, for a
// live update step, as the value it returns.
func (c *checker) record(params []string, step bool) func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
	return func(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		values := make([]starlark.Value, len(params))
		pairs := make([]any, 0, 2*len(params))
		for i, p := range params {
			pairs = append(pairs, p, &values[i])
		}
		if err := starlark.UnpackArgs(fn.Name(), args, kwargs, pairs...); err != nil {
			return nil, err
		}
		got := map[string]any{}
		for i, p := range params {
			if values[i] != nil {
				got[strings.TrimSuffix(p, "?")] = toJSON(values[i])
			}
		}
		if step {
			return &liveUpdateStep{kind: fn.Name(), args: got}, nil
		}
		c.calls = append(c.calls, call{Fn: fn.Name(), Args: got})
		return starlark.None, nil
	}
}

func (c *checker) runKustomize(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var path string
	var bin starlark.Value
	var flags *starlark.List
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "paths", &path, "kustomize_bin?", &bin, "flags?", &flags); err != nil {
		return nil, err
	}
	argv := append(append([]string{}, c.kustomize...), path)
	out, err := exec.Command(argv[0], argv[1:]...).Output()
	if err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			return nil, fmt.Errorf("kustomize(%q): %s: %s", path, err, exitErr.Stderr)
		}
		return nil, fmt.Errorf("kustomize(%q): %w", path, err)
	}
	c.calls = append(c.calls, call{Fn: "kustomize", Args: map[string]any{"paths": path}})
	return blob(out), nil
}

// readArg reads the file a read_* built-in names (Tilt's "paths" and "default" parameters): its contents, or, when it
// does not exist and a default was given, nil and that default.
func readArg(fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (string, []byte, starlark.Value, error) {
	var path string
	var def starlark.Value
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "paths", &path, "default?", &def); err != nil {
		return "", nil, nil, err
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && def != nil {
		return path, nil, def, nil
	}
	if err != nil {
		return "", nil, nil, fmt.Errorf("%s: %w", fn.Name(), err)
	}
	return path, data, nil, nil
}

func readFile(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	_, data, def, err := readArg(fn, args, kwargs)
	if err != nil {
		return nil, err
	}
	if data == nil {
		return blob(starlarkString(def)), nil
	}
	return blob(data), nil
}

func readYAML(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	path, data, def, err := readArg(fn, args, kwargs)
	if err != nil || data == nil {
		return def, err
	}
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		return nil, fmt.Errorf("%s(%q): %w", fn.Name(), path, err)
	}
	return fromYAML(v)
}

func decodeYAMLStream(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var text starlark.Value
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "yaml", &text); err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(strings.NewReader(starlarkString(text)))
	var docs []starlark.Value
	for {
		var v any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			return starlark.NewList(docs), nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", fn.Name(), err)
		}
		if v == nil {
			continue // an empty document between separators
		}
		doc, err := fromYAML(v)
		if err != nil {
			return nil, err
		}
		docs = append(docs, doc)
	}
}

func newBlob(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var input string
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "input", &input); err != nil {
		return nil, err
	}
	return blob(input), nil
}

func getenv(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var key string
	var def starlark.Value = starlark.None
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "key", &key, "default?", &def); err != nil {
		return nil, err
	}
	if v, ok := os.LookupEnv(key); ok {
		return starlark.String(v), nil
	}
	return def, nil
}

func pathExists(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var path string
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "path", &path); err != nil {
		return nil, err
	}
	_, err := os.Stat(path)
	return starlark.Bool(err == nil), nil
}

func pathJoin(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(kwargs) > 0 {
		return nil, fmt.Errorf("%s: unexpected keyword arguments", fn.Name())
	}
	parts := make([]string, len(args))
	for i, a := range args {
		s, ok := starlark.AsString(a)
		if !ok {
			return nil, fmt.Errorf("%s: argument %d is %s, not a string", fn.Name(), i+1, a.Type())
		}
		parts[i] = s
	}
	return starlark.String(filepath.Join(parts...)), nil
}

// starlarkString is the text of a string or a blob, as Tilt's built-ins that take either read it.
func starlarkString(v starlark.Value) string {
	if s, ok := starlark.AsString(v); ok {
		return s
	}
	return v.String()
}

// fromYAML converts a decoded YAML value to Starlark: maps to dicts, sequences to lists, scalars to their kind.
func fromYAML(v any) (starlark.Value, error) {
	switch t := v.(type) {
	case nil:
		return starlark.None, nil
	case bool:
		return starlark.Bool(t), nil
	case int:
		return starlark.MakeInt(t), nil
	case int64:
		return starlark.MakeInt64(t), nil
	case uint64:
		return starlark.MakeUint64(t), nil
	case float64:
		return starlark.Float(t), nil
	case string:
		return starlark.String(t), nil
	case []any:
		items := make([]starlark.Value, len(t))
		for i, e := range t {
			item, err := fromYAML(e)
			if err != nil {
				return nil, err
			}
			items[i] = item
		}
		return starlark.NewList(items), nil
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		d := starlark.NewDict(len(t))
		for _, k := range keys {
			val, err := fromYAML(t[k])
			if err != nil {
				return nil, err
			}
			if err := d.SetKey(starlark.String(k), val); err != nil {
				return nil, err
			}
		}
		return d, nil
	}
	return nil, fmt.Errorf("YAML value %v (%T) has no Starlark form", v, v)
}

// toJSON converts a Starlark argument to what the JSON report holds; a blob becomes {"blob": text}.
func toJSON(v starlark.Value) any {
	switch t := v.(type) {
	case starlark.NoneType:
		return nil
	case starlark.Bool:
		return bool(t)
	case starlark.Int:
		n, _ := t.Int64()
		return n
	case starlark.Float:
		return float64(t)
	case starlark.String:
		return string(t)
	case blob:
		return map[string]any{"blob": string(t)}
	case *liveUpdateStep:
		return map[string]any{t.kind: t.args}
	case *starlark.Dict:
		m := map[string]any{}
		for _, item := range t.Items() {
			m[starlarkString(item[0])] = toJSON(item[1])
		}
		return m
	case starlark.Indexable: // lists and tuples
		items := make([]any, t.Len())
		for i := range items {
			items[i] = toJSON(t.Index(i))
		}
		return items
	}
	return v.String()
}

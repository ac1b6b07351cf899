// kind-config-check loads a kind cluster config the way `kind create cluster --config` does, with kind's own loader:
// strict decoding (an unknown field is an error), conversion to kind's internal config with its defaults, then the
// validation kind runs before it creates anything. It prints the loaded config as JSON, or the error and exits 1.
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"sigs.k8s.io/kind/pkg/internal/apis/config/encoding"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: kind-config-check <kind config file>")
		os.Exit(2)
	}
	cfg, err := encoding.Load(os.Args[1])
	if err == nil {
		err = cfg.Validate()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
	out, err := json.MarshalIndent(cfg, "", " ")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(string(out))
}

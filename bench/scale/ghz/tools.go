//go:build tools

// Package tools pins the gRPC load tool ghz for bench/scale (built by scripts/bench-scale.sh).
package tools

import _ "github.com/bojand/ghz/cmd/ghz"

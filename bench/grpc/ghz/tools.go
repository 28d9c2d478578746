//go:build tools

// Package tools records the ghz command as a dependency of this module, so go.sum pins every
// module it is built from.
package tools

import _ "github.com/bojand/ghz/cmd/ghz"

//go:build tools

// Package tools records the buf command as a dependency of this module, so go.sum pins every
// module it is built from.
package tools

import _ "github.com/bufbuild/buf/cmd/buf"

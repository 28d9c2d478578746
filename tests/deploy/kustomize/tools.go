//go:build tools

// Package tools records the kustomize command as a dependency of this module, so go.sum pins
// every module it is built from.
package tools

import _ "sigs.k8s.io/kustomize/kustomize/v5"

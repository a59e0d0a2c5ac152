//go:build tools

// Package tools pins the Argo Rollouts commands this module builds, so `go mod tidy` keeps
// their dependencies in go.sum.
package tools

import (
	_ "github.com/argoproj/argo-rollouts/cmd/kubectl-argo-rollouts"
	_ "github.com/argoproj/argo-rollouts/cmd/rollouts-controller"
)

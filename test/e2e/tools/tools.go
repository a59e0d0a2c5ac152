//go:build tools

// Package tools keeps the control-plane commands' packages in this module's dependency graph,
// so `go build k8s.io/kubernetes/cmd/...` resolves them at the pinned versions.
package tools

import (
	_ "k8s.io/kubectl/pkg/cmd"
	_ "k8s.io/kubernetes/cmd/kube-apiserver/app"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	_ "k8s.io/kubernetes/cmd/kube-scheduler/app"
)

//go:build tools

// Package tools keeps etcd's server in this module's dependency graph, so
// `go build go.etcd.io/etcd/server/v3` resolves it at the pinned version.
package tools

import _ "go.etcd.io/etcd/server/v3/etcdmain"

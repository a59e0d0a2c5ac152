//go:build tools

// The code generators of internal/gen (scripts/gen-proto-go.sh), pinned by this module's go.mod.
package main

import (
	_ "google.golang.org/grpc/cmd/protoc-gen-go-grpc"
	_ "google.golang.org/protobuf/cmd/protoc-gen-go"
)

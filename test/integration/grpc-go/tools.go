//go:build tools

// The code generators the test builds, pinned by this module's go.mod like its libraries.
package main

import (
	_ "google.golang.org/grpc/cmd/protoc-gen-go-grpc"
	_ "google.golang.org/protobuf/cmd/protoc-gen-go"
)

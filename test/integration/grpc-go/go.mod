// A Go client of the judge's gRPC API, built by test/integration/grpc-go.test.ts: it checks that
// code generated for Go (protoc-gen-go, protoc-gen-go-grpc) and grpc-go's own health client talk to
// the TypeScript server, as the native Argo Rollouts metric plugin will. The generated package
// (gen/) is made by the test in a temporary copy of this module, never committed.
module canaryjudge.test/judgecall

go 1.24.0

require (
	google.golang.org/grpc v1.80.0
	google.golang.org/grpc/cmd/protoc-gen-go-grpc v1.6.0
	google.golang.org/protobuf v1.36.11
)

require (
	golang.org/x/net v0.49.0 // indirect
	golang.org/x/sys v0.40.0 // indirect
	golang.org/x/text v0.33.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20260120221211-b8f7ae30c516 // indirect
)

// judgecall: a minimal Go client of the judge's gRPC API, as the native Argo Rollouts metric
// plugin will be one. It reads an AnalyzeRequest in proto3 JSON on stdin, calls Analyze (and
// the standard health service), and prints one JSON object with what it got.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	judgev1 "canaryjudge.test/judgecall/gen/canary_judge/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
)

type output struct {
	Health   string            `json:"health"`
	OK       bool              `json:"ok"`
	Response json.RawMessage   `json:"response,omitempty"`
	Verdict  string            `json:"verdict,omitempty"`
	Code     string            `json:"code,omitempty"`
	Message  string            `json:"message,omitempty"`
	Trailer  map[string]string `json:"trailer,omitempty"`
}

func main() {
	addr := flag.String("addr", "", "host:port of the judge's gRPC API")
	token := flag.String("token", "", "bearer token")
	timeout := flag.Duration("timeout", 20*time.Second, "call deadline")
	flag.Parse()
	if err := run(*addr, *token, *timeout); err != nil {
		fmt.Fprintln(os.Stderr, "judgecall:", err)
		os.Exit(1)
	}
}

func run(addr, token string, timeout time.Duration) error {
	in, err := io.ReadAll(os.Stdin)
	if err != nil {
		return err
	}
	req := &judgev1.AnalyzeRequest{}
	if err := protojson.Unmarshal(in, req); err != nil {
		return fmt.Errorf("request: %w", err)
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()

	var out output
	h, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: judgev1.JudgeService_ServiceDesc.ServiceName})
	if err != nil {
		return fmt.Errorf("health: %w", err)
	}
	out.Health = h.GetStatus().String()

	if token != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	}
	var trailer metadata.MD
	res, err := judgev1.NewJudgeServiceClient(conn).Analyze(ctx, req, grpc.Trailer(&trailer))
	if err != nil {
		st := status.Convert(err)
		out.Code = st.Code().String()
		out.Message = st.Message()
		out.Trailer = map[string]string{}
		for k, v := range trailer {
			if len(v) > 0 {
				out.Trailer[k] = v[0]
			}
		}
	} else {
		out.OK = true
		out.Verdict = res.GetVerdict().String()
		b, err := protojson.Marshal(res)
		if err != nil {
			return err
		}
		out.Response = b
	}
	return json.NewEncoder(os.Stdout).Encode(out)
}

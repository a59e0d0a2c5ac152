// The plugin's only network I/O: one gRPC connection per judge address (kept for the life of
// the process, as grpc-go reconnects by itself), the bearer token read at every call, and the
// judge's non-OK answers turned into one readable line. The judge puts its closed error code
// and the offending field in the trailers (canary-judge-error-code, canary-judge-error-field;
// docs/grpc.md); the line carries both with the judge's own message, so the AnalysisRun says
// why a measurement is an Error.
package provider

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	judgev1 "canary-judge/plugins/metric/internal/gen/canary_judge/v1"
)

type judges struct {
	opts  Options
	mu    sync.Mutex
	conns map[string]*grpc.ClientConn
}

func newJudges(opts Options) *judges {
	return &judges{opts: opts, conns: map[string]*grpc.ClientConn{}}
}

func (j *judges) conn(addr string) (*grpc.ClientConn, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if c, ok := j.conns[addr]; ok {
		return c, nil
	}
	creds, err := j.credentials()
	if err != nil {
		return nil, err
	}
	c, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		return nil, fmt.Errorf("judge address %q: %w", addr, err)
	}
	j.conns[addr] = c
	return c, nil
}

func (j *judges) credentials() (credentials.TransportCredentials, error) {
	if !j.opts.TLS {
		return insecure.NewCredentials(), nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: j.opts.TLSServerName}
	if j.opts.TLSCAFile != "" {
		pem, err := os.ReadFile(j.opts.TLSCAFile)
		if err != nil {
			return nil, fmt.Errorf("--tls-ca-file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--tls-ca-file %s holds no PEM certificate", j.opts.TLSCAFile)
		}
		cfg.RootCAs = pool
	}
	return credentials.NewTLS(cfg), nil
}

// token reads the bearer token where the flags say; "" means none configured.
func (j *judges) token() (string, error) {
	switch {
	case j.opts.TokenFile != "":
		b, err := os.ReadFile(j.opts.TokenFile)
		if err != nil {
			return "", fmt.Errorf("judge token: %w", err)
		}
		t := strings.TrimSpace(string(b))
		if t == "" {
			return "", fmt.Errorf("judge token: %s is empty", j.opts.TokenFile)
		}
		return t, nil
	case j.opts.TokenEnv != "":
		t := strings.TrimSpace(os.Getenv(j.opts.TokenEnv))
		if t == "" {
			return "", fmt.Errorf("judge token: environment variable %s is empty or unset", j.opts.TokenEnv)
		}
		return t, nil
	}
	return "", nil
}

// analyze makes one AnalyzePluginConfig call; any non-OK answer or transport failure is an
// error whose text is meant for the AnalysisRun.
func (j *judges) analyze(addr string, timeout time.Duration, req *judgev1.AnalyzePluginConfigRequest) (*judgev1.AnalyzePluginConfigResponse, error) {
	conn, err := j.conn(addr)
	if err != nil {
		return nil, err
	}
	tok, err := j.token()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if tok != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok)
	}
	var trailer metadata.MD
	res, err := judgev1.NewPluginServiceClient(conn).AnalyzePluginConfig(ctx, req, grpc.Trailer(&trailer))
	if err != nil {
		return nil, describe(addr, err, trailer)
	}
	return res, nil
}

// describe says what went wrong in one line: who answered what, and the judge's own words.
func describe(addr string, err error, trailer metadata.MD) error {
	st := status.Convert(err)
	first := func(k string) string {
		if v := trailer.Get(k); len(v) > 0 {
			return v[0]
		}
		return ""
	}
	code, field := first("canary-judge-error-code"), first("canary-judge-error-field")
	switch {
	case st.Code() == codes.Unauthenticated:
		return fmt.Errorf("judge at %s refused the token (%s): %s", addr, st.Code(), st.Message())
	case code != "" && field != "":
		return fmt.Errorf("judge at %s refused the request (%s, %s): %s", addr, code, field, st.Message())
	case code != "":
		return fmt.Errorf("judge at %s could not analyse (%s): %s", addr, code, st.Message())
	}
	switch st.Code() {
	case codes.Unavailable:
		return fmt.Errorf("judge at %s unreachable: %s", addr, st.Message())
	case codes.DeadlineExceeded:
		return fmt.Errorf("judge at %s did not answer in time: %s", addr, st.Message())
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("judge at %s did not answer in time", addr)
	}
	return fmt.Errorf("judge at %s answered %s: %s", addr, st.Code(), st.Message())
}

package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"maps"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"google.golang.org/grpc"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	judgev1 "canary-judge/plugins/metric/internal/gen/canary_judge/v1"
)

func run() *v1alpha1.AnalysisRun {
	return &v1alpha1.AnalysisRun{
		ObjectMeta: metav1.ObjectMeta{
			Name: "catalogo-6b7f9c8d5-2-1", Namespace: "shop",
			Labels: map[string]string{"rollouts-pod-template-hash": "6b7f9c8d5"},
			OwnerReferences: []metav1.OwnerReference{
				{Kind: "Experiment", Name: "not-this", Controller: ptr.To(false)},
				{Kind: "Rollout", Name: "catalogo", Controller: ptr.To(true)},
			},
		},
		Spec: v1alpha1.AnalysisRunSpec{Args: []v1alpha1.Argument{
			{Name: "stable-hash", Value: ptr.To("5d4c7b9f8")},
			// The controller writes a Secret's value into the argument before measuring.
			{Name: "api-token", Value: ptr.To("s3cret"), ValueFrom: &v1alpha1.ValueFrom{SecretKeyRef: &v1alpha1.SecretKeyRef{Name: "t", Key: "k"}}},
			{Name: "unset"},
		}},
	}
}

// The configuration reaches the judge byte for byte, whatever it holds: a check type the plugin
// has never heard of, keys of a request field added after this binary was built. The plugin
// decides only where it goes and how long it waits.
func TestTheConfigIsForwardedAsGiven(t *testing.T) {
	raw := json.RawMessage(`{"timeout":"5s","selector":{"stable":"5d4c7b9f8"},"matchers":{"cluster":"eu-1"},
		"checks":[{"type":"a-kind-added-later","badQuery":"sum(x{ {{selector}} })","alpha":"0.01"}]}`)
	rec := &recorder{}
	addr := rec.start(t)
	p := New(Options{Address: addr, Timeout: time.Minute})
	m := v1alpha1.Metric{Name: "m", Provider: v1alpha1.MetricProvider{Plugin: map[string]json.RawMessage{PluginName: raw}}}
	got := p.Run(run(), m)
	if got.Phase != v1alpha1.AnalysisPhaseSuccessful || got.Value != `"Pass: a kind added later"` ||
		got.Metadata["later.verdict"] != "Pass (no_regression)" {
		t.Fatalf("phase %s (%s), value %s, metadata %v: want the judge's measurement as it is", got.Phase, got.Message, got.Value, got.Metadata)
	}
	req := rec.last()
	if !bytes.Equal(req.GetConfig(), raw) {
		t.Errorf("config sent %s, want the metric's bytes %s", req.GetConfig(), raw)
	}
	r := req.GetRun()
	if r.GetName() != "catalogo-6b7f9c8d5-2-1" || r.GetNamespace() != "shop" || r.GetRollout() != "catalogo" ||
		r.GetLabels()["rollouts-pod-template-hash"] != "6b7f9c8d5" {
		t.Errorf("run %v", r)
	}
	if want := map[string]string{"stable-hash": "5d4c7b9f8"}; !maps.Equal(r.GetArgs(), want) {
		t.Errorf("args %v, want %v (no Secret-valued argument, none without a value)", r.GetArgs(), want)
	}
	if d := rec.deadline(); d <= 0 || d > 5*time.Second {
		t.Errorf("call deadline in %v, want the configuration's 5s", d)
	}
}

func TestOnlyTheOwnKeysAreRead(t *testing.T) {
	for raw, want := range map[string]string{
		`{"address":7,"checks":[]}`:     "address: 7 is not a string",
		`{"timeout":"soon"}`:            `timeout: "soon" is not a positive duration`,
		`{"timeout":"-1s"}`:             "positive duration",
		`{"address":"evil:9090"}`:       "not one the plugin's registration allows",
		`{"checks":[{"type":"x"}]}`:     "",
		`not json, the judge says so`:   "",
		``:                              "",
		`{"address":null,"timeout":""}`: "",
	} {
		p := New(Options{Address: "judge:9090", Timeout: time.Second})
		own, err := ownOptions(json.RawMessage(raw))
		if err == nil {
			_, err = p.address(own)
		}
		if (want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), want)) {
			t.Errorf("config %s: error %v, want %q", raw, err, want)
		}
	}
	if got := len(OwnKeys); got != 2 {
		t.Errorf("OwnKeys %v: the judge's PLUGIN_KEYS (src/judge/plugin-config.ts) must name the same keys", OwnKeys)
	}
}

func TestUsageSaysWhatItIsAndWhatItReads(t *testing.T) {
	var b strings.Builder
	Usage(&b)
	for _, want := range []string{"Argo Rollouts", "controller", "AnalyzePluginConfig", "-address", "-allow-address", "-token-file", "-timeout", "address ", "timeout "} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("usage lacks %q:\n%s", want, b.String())
		}
	}
	if _, err := ParseFlags([]string{"--help"}); err != flag.ErrHelp {
		t.Errorf("--help gave %v, want flag.ErrHelp", err)
	}
}

// recorder is a PluginService that keeps what it is sent and answers Pass.
type recorder struct {
	judgev1.UnimplementedPluginServiceServer
	mu   sync.Mutex
	reqs []*judgev1.AnalyzePluginConfigRequest
	left time.Duration
}

func (r *recorder) AnalyzePluginConfig(ctx context.Context, req *judgev1.AnalyzePluginConfigRequest) (*judgev1.AnalyzePluginConfigResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqs = append(r.reqs, req)
	if d, ok := ctx.Deadline(); ok {
		r.left = time.Until(d)
	}
	return &judgev1.AnalyzePluginConfigResponse{Verdict: "Pass", Summary: "Pass: a kind added later", Metadata: map[string]string{"later.verdict": "Pass (no_regression)"}}, nil
}

func (r *recorder) start(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	judgev1.RegisterPluginServiceServer(s, r)
	go func() { _ = s.Serve(lis) }()
	t.Cleanup(s.Stop)
	return lis.Addr().String()
}

func (r *recorder) last() *judgev1.AnalyzePluginConfigRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.reqs) == 0 {
		return nil
	}
	return r.reqs[len(r.reqs)-1]
}

func (r *recorder) deadline() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.left
}

func TestVerdictsMapToPhasesWithoutConditions(t *testing.T) {
	for v, want := range map[string]v1alpha1.AnalysisPhase{
		"Pass":         v1alpha1.AnalysisPhaseSuccessful,
		"Fail":         v1alpha1.AnalysisPhaseFailed,
		"Inconclusive": v1alpha1.AnalysisPhaseInconclusive,
		"":             v1alpha1.AnalysisPhaseError,
		"pass":         v1alpha1.AnalysisPhaseError,
	} {
		got, _ := phaseOf(&judgev1.AnalyzePluginConfigResponse{Verdict: v}, v1alpha1.Metric{})
		if got != want {
			t.Errorf("%v → %s, want %s", v, got, want)
		}
	}
}

func TestATemplateCannotSendTheTokenElsewhere(t *testing.T) {
	o, err := ParseFlags([]string{"--address=judge:9090", "--allow-address=other:9090,third:9090"})
	if err != nil {
		t.Fatal(err)
	}
	for addr, want := range map[string]bool{"judge:9090": true, "other:9090": true, "third:9090": true, "evil:9090": false} {
		if o.allows(addr) != want {
			t.Errorf("allows(%s) = %v", addr, !want)
		}
	}
	if _, err := ParseFlags([]string{"--token-file=/a", "--token-env=B", "--address=nohost"}); err == nil ||
		!strings.Contains(err.Error(), "exclusive") || !strings.Contains(err.Error(), "host:port") {
		t.Errorf("flags error %v, want both problems", err)
	}
}

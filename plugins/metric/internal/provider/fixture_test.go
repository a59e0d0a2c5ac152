package provider

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"google.golang.org/protobuf/proto"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	judgev1 "canary-judge/plugins/metric/internal/gen/canary_judge/v1"
)

// The cases of testdata/requests.json are shared with the report (test/unit/report), which
// maps the same configurations in TypeScript. Here each configuration goes through
// ParseConfig and buildRequest; the request must equal the one recorded in testdata/wire.json
// (protobuf, base64), which the TypeScript test decodes with the judge's own gRPC mapping and
// compares with the case's readable request and with the report's mapping. A change to the
// mapping fails here first; CANARY_JUDGE_UPDATE_WIRE=1 records the new requests, and the
// TypeScript test then says whether the report still agrees.

type fixtureCase struct {
	Name string `json:"name"`
	Run  struct {
		Name            string            `json:"name"`
		Namespace       string            `json:"namespace"`
		Labels          map[string]string `json:"labels"`
		OwnerReferences []struct {
			Kind       string `json:"kind"`
			Name       string `json:"name"`
			Controller bool   `json:"controller"`
		} `json:"ownerReferences"`
	} `json:"run"`
	Config json.RawMessage `json:"config"`
	Error  string          `json:"error"`
}

func (c fixtureCase) analysisRun() *v1alpha1.AnalysisRun {
	run := &v1alpha1.AnalysisRun{ObjectMeta: metav1.ObjectMeta{
		Name: c.Run.Name, Namespace: c.Run.Namespace, Labels: c.Run.Labels,
	}}
	for _, o := range c.Run.OwnerReferences {
		controller := o.Controller
		run.OwnerReferences = append(run.OwnerReferences, metav1.OwnerReference{Kind: o.Kind, Name: o.Name, Controller: &controller})
	}
	return run
}

func request(c fixtureCase) (*judgev1.AnalyzeRequest, error) {
	cfg, err := ParseConfig(c.Config)
	if err != nil {
		return nil, err
	}
	return buildRequest(cfg, c.analysisRun())
}

func TestSharedRequestFixture(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "requests.json"))
	if err != nil {
		t.Fatal(err)
	}
	var fixture struct {
		Cases []fixtureCase `json:"cases"`
	}
	if err := json.Unmarshal(raw, &fixture); err != nil {
		t.Fatal(err)
	}
	wirePath := filepath.Join("testdata", "wire.json")
	update := os.Getenv("CANARY_JUDGE_UPDATE_WIRE") == "1"
	wire := map[string]string{}
	if !update {
		b, err := os.ReadFile(wirePath)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &wire); err != nil {
			t.Fatal(err)
		}
	}
	recorded := map[string]string{}
	for _, c := range fixture.Cases {
		t.Run(c.Name, func(t *testing.T) {
			req, err := request(c)
			if c.Error != "" {
				if err == nil || !strings.Contains(err.Error(), c.Error) {
					t.Fatalf("error %v, want one containing %q", err, c.Error)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			b, err := proto.MarshalOptions{Deterministic: true}.Marshal(req)
			if err != nil {
				t.Fatal(err)
			}
			recorded[c.Name] = base64.StdEncoding.EncodeToString(b)
			if update {
				return
			}
			enc, ok := wire[c.Name]
			if !ok {
				t.Fatalf("no recorded request for this case in %s (CANARY_JUDGE_UPDATE_WIRE=1)", wirePath)
			}
			want := &judgev1.AnalyzeRequest{}
			b, err = base64.StdEncoding.DecodeString(enc)
			if err == nil {
				err = proto.Unmarshal(b, want)
			}
			if err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(req, want) {
				t.Errorf("request %v\nrecorded %v", req, want)
			}
		})
	}
	if update {
		b, err := json.MarshalIndent(recorded, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(wirePath, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("recorded %d requests in %s", len(recorded), wirePath)
	} else if len(recorded) != len(wire) {
		t.Errorf("%s has %d requests, the fixture %d: CANARY_JUDGE_UPDATE_WIRE=1 records them again", wirePath, len(wire), len(recorded))
	}
}

// Package contract checks the canary judge against Argo Rollouts' own Go code (the release the
// module file pins: v1.10.2 from go.mod, v1.9.3 from argo-v1.9.mod; run.sh runs both): the
// shipped AnalysisTemplates go through Argo's argument resolution and validation, Argo's `web`
// metric provider calls a running judge that reads a real Prometheus, and Argo's analysis
// controller assesses whole sequences of measurements.
//
// The processes (Prometheus loaded with scenario data, the judge) are started by run.sh, which
// passes their addresses in the environment described by testEnv. A missing variable fails the
// tests that need it; nothing is skipped.
package contract

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	log "github.com/sirupsen/logrus"
)

// scenario names one set of series loaded in Prometheus (a canary and its stable side) and how
// the judge's request selects it.
type scenario struct {
	Namespace  string `json:"namespace"`
	CanaryHash string `json:"canaryHash"`
	StableHash string `json:"stableHash"`
	// Expected verdict of the judge for this data, as the harness documents it.
	Verdict string `json:"verdict"`
	// Unix time of the last sample.
	DataEnd int64 `json:"dataEnd"`
}

// testEnv is what run.sh hands the tests.
type testEnv struct {
	JudgeURL         string // CANARY_JUDGE_URL: judge reading the scenario Prometheus
	JudgePromDownURL string // CANARY_JUDGE_PROM_DOWN_URL: judge whose Prometheus is not running
	JudgePromHangURL string // CANARY_JUDGE_PROM_HANG_URL: judge whose Prometheus never answers
	Token            string // CANARY_JUDGE_TOKEN: bearer token both judges require
	PrometheusURL    string // CONTRACT_PROMETHEUS_URL: the scenario Prometheus (for Argo's own Prometheus provider)
	RolloutName      string // CANARY_JUDGE_ROLLOUT (default catalogo)
	RolloutNamespace string // CANARY_JUDGE_NAMESPACE (default catalogo)
	Scenarios        map[string]scenario
	ScenariosErr     error
	TemplatesDir     string // CONTRACT_TEMPLATES_DIR (default <repo>/analysis-templates)
	RolloutsDir      string // CONTRACT_ROLLOUTS_DIR (default <repo>/rollouts)
	Break            string // CONTRACT_BREAK: deliberate break of the harness, see TestMain
	// Stand-in catalogo servers the judge's contract gate may reach (CATALOGO_V11_URL,
	// CATALOGO_V12_COMPATIBLE_URL, CATALOGO_V12_BREAKING_URL), and an allowed address where
	// nothing listens (CATALOGO_DOWN_URL).
	CatalogoV11, CatalogoCompatible, CatalogoBreaking, CatalogoDown string
}

var env testEnv

func getenv(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func TestMain(m *testing.M) {
	// Argo's controller and providers log through logrus; its warnings (each Error
	// measurement) are expected here, so keep the output to errors.
	log.SetLevel(log.ErrorLevel)
	startFastClock()

	repo, _ := filepath.Abs("../../..")
	env = testEnv{
		JudgeURL:           os.Getenv("CANARY_JUDGE_URL"),
		JudgePromDownURL:   os.Getenv("CANARY_JUDGE_PROM_DOWN_URL"),
		JudgePromHangURL:   os.Getenv("CANARY_JUDGE_PROM_HANG_URL"),
		Token:              os.Getenv("CANARY_JUDGE_TOKEN"),
		PrometheusURL:      os.Getenv("CONTRACT_PROMETHEUS_URL"),
		RolloutName:        getenv("CANARY_JUDGE_ROLLOUT", "catalogo"),
		RolloutNamespace:   getenv("CANARY_JUDGE_NAMESPACE", "catalogo"),
		TemplatesDir:       getenv("CONTRACT_TEMPLATES_DIR", filepath.Join(repo, "analysis-templates")),
		RolloutsDir:        getenv("CONTRACT_ROLLOUTS_DIR", filepath.Join(repo, "rollouts")),
		Break:              os.Getenv("CONTRACT_BREAK"),
		CatalogoV11:        os.Getenv("CATALOGO_V11_URL"),
		CatalogoCompatible: os.Getenv("CATALOGO_V12_COMPATIBLE_URL"),
		CatalogoBreaking:   os.Getenv("CATALOGO_V12_BREAKING_URL"),
		CatalogoDown:       os.Getenv("CATALOGO_DOWN_URL"),
	}
	if p := os.Getenv("CANARY_JUDGE_SCENARIOS"); p != "" {
		data, err := os.ReadFile(p)
		if err == nil {
			err = json.Unmarshal(data, &env.Scenarios)
		}
		env.ScenariosErr = err
	} else {
		env.ScenariosErr = fmt.Errorf("CANARY_JUDGE_SCENARIOS is not set (run the tests through test/argo/run.sh)")
	}

	var stop func()
	switch env.Break {
	case "":
	case "lowercase-verdict", "plain-text-verdict":
		// Deliberate breaks, in the test harness only: Argo reaches the judge through a proxy
		// that answers the verdict in lower case ("pass"), or as plain text instead of JSON.
		// The tests must fail.
		rewrite := lowercaseVerdict
		if env.Break == "plain-text-verdict" {
			rewrite = plainTextVerdict
		}
		if env.JudgeURL != "" {
			u, err := url.Parse(env.JudgeURL)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(2)
			}
			env.JudgeURL, stop = startRewritingProxy(u, rewrite)
			fmt.Fprintf(os.Stderr, "contract: CONTRACT_BREAK=%s: judge reached through %s\n", env.Break, env.JudgeURL)
		}
	default:
		fmt.Fprintf(os.Stderr, "contract: unknown CONTRACT_BREAK %q\n", env.Break)
		os.Exit(2)
	}
	code := m.Run()
	if stop != nil {
		stop()
	}
	os.Exit(code)
}

func requireJudge(t *testing.T) {
	t.Helper()
	if env.JudgeURL == "" {
		t.Fatal("CANARY_JUDGE_URL is not set: no running judge to test against (run test/argo/run.sh)")
	}
}

func requireScenario(t *testing.T, name string) scenario {
	t.Helper()
	if env.ScenariosErr != nil {
		t.Fatalf("scenario data: %v", env.ScenariosErr)
	}
	s, ok := env.Scenarios[name]
	if !ok {
		t.Fatalf("scenario %q is not loaded by the harness (have %v)", name, keys(env.Scenarios))
	}
	return s
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// Turns the judge's answer into an Argo measurement. The judge lays the answer out as the
// measurement shows it (PluginService, plugin.proto): the verdict, the score, its one-line
// summary (which opens with the verdict) and flat text metadata per check (counts, effect with
// its interval, e-value, power, or whatever a check kind has to show), so this file knows no
// check kind. The value is the summary as a JSON string, which both `kubectl describe
// analysisrun` and the dashboard show as it is. The phase comes from the verdict: with no
// successCondition and no failureCondition in the metric, Pass → Successful, Fail → Failed,
// Inconclusive → Inconclusive; with conditions, Argo's own evaluator (utils/evaluate) decides
// over the same {verdict, score, summary} object the web templates read, so the guard's "Pass or
// Inconclusive is a success" keeps working unchanged.
package provider

import (
	"fmt"

	"github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"github.com/argoproj/argo-rollouts/utils/evaluate"
	log "github.com/sirupsen/logrus"

	judgev1 "canary-judge/plugins/metric/internal/gen/canary_judge/v1"
)

// phaseOf decides the measurement's phase from the verdict and the metric's conditions.
func phaseOf(res *judgev1.AnalyzePluginConfigResponse, metric v1alpha1.Metric) (v1alpha1.AnalysisPhase, error) {
	verdict := res.GetVerdict()
	switch verdict {
	case "Pass", "Fail", "Inconclusive":
	default:
		return v1alpha1.AnalysisPhaseError, fmt.Errorf("the judge answered without a verdict (%q)", verdict)
	}
	if metric.SuccessCondition == "" && metric.FailureCondition == "" {
		switch verdict {
		case "Pass":
			return v1alpha1.AnalysisPhaseSuccessful, nil
		case "Fail":
			return v1alpha1.AnalysisPhaseFailed, nil
		}
		return v1alpha1.AnalysisPhaseInconclusive, nil
	}
	result := map[string]any{"verdict": verdict, "score": res.GetScore(), "summary": res.GetSummary()}
	return evaluate.EvaluateResult(result, metric, *log.NewEntry(log.StandardLogger()))
}

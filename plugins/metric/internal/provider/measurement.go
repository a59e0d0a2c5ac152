// Turns the judge's answer into an Argo measurement. The value is the judge's one-line summary
// (it opens with the verdict) as a JSON string, which both `kubectl describe analysisrun` and
// the dashboard show as it is. The phase comes from the verdict: with no successCondition and no
// failureCondition in the metric, Pass → Successful, Fail → Failed, Inconclusive → Inconclusive;
// with conditions, Argo's own evaluator (utils/evaluate) decides over the same
// {verdict, score, summary} object the web templates read, so the guard's "Pass or Inconclusive
// is a success" keeps working unchanged. The numbers a person wants beside the verdict (counts,
// effect with its interval, e-value, power) go to the measurement's metadata.
package provider

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"github.com/argoproj/argo-rollouts/utils/evaluate"
	log "github.com/sirupsen/logrus"

	judgev1 "canary-judge/plugins/metric/internal/gen/canary_judge/v1"
)

// verdictName is the judge's HTTP spelling of a verdict, the one conditions compare with.
func verdictName(v judgev1.Verdict) (string, bool) {
	switch v {
	case judgev1.Verdict_VERDICT_PASS:
		return "Pass", true
	case judgev1.Verdict_VERDICT_FAIL:
		return "Fail", true
	case judgev1.Verdict_VERDICT_INCONCLUSIVE:
		return "Inconclusive", true
	case judgev1.Verdict_VERDICT_UNSPECIFIED:
	}
	return "", false
}

// phaseOf decides the measurement's phase from the verdict and the metric's conditions.
func phaseOf(res *judgev1.AnalyzeResponse, metric v1alpha1.Metric) (v1alpha1.AnalysisPhase, error) {
	verdict, ok := verdictName(res.GetVerdict())
	if !ok {
		return v1alpha1.AnalysisPhaseError, fmt.Errorf("the judge answered without a verdict (%v)", res.GetVerdict())
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

// metadataOf lays the answer out as flat text keys, one group per check.
func metadataOf(res *judgev1.AnalyzeResponse) map[string]string {
	verdict, _ := verdictName(res.GetVerdict())
	md := map[string]string{
		"verdict": verdict,
		"score":   num(res.GetScore()),
		"judge":   res.GetJudge(),
	}
	if w := res.GetWindow(); w != nil {
		md["window"] = fmt.Sprintf("%s to %s, %d intervals of %s", w.GetStart(), w.GetEnd(), w.GetIntervals(), w.GetInterval())
	}
	if s := res.GetScorecard(); s != nil {
		md["scorecard"] = strings.ToLower(strings.TrimPrefix(s.GetReason().String(), "REASON_"))
	}
	for _, c := range res.GetChecks() {
		p := c.GetName() + "."
		cv, _ := verdictName(c.GetVerdict())
		md[p+"verdict"] = cv + " (" + strings.ToLower(strings.TrimPrefix(c.GetReason().String(), "REASON_")) + ")"
		if c.GetCanary() != nil {
			md[p+"canary"] = sideText(c.GetCanary())
		}
		if c.GetStable() != nil {
			md[p+"stable"] = sideText(c.GetStable())
		}
		if e := c.GetEffect(); e != nil && e.Ratio != nil {
			md[p+"effect"] = fmt.Sprintf("ratio %s [%s, %s] at %s%%", num(e.GetRatio()), num(e.GetLower()), num(e.GetUpper()), num(100*e.GetConfidence()))
		}
		if ev := c.GetEvidence(); ev != nil {
			md[p+"eValue"] = fmt.Sprintf("%s (fails at %s)", num(ev.GetEValue()), num(ev.GetThreshold()))
		}
		if pw := c.GetPower(); pw != nil {
			md[p+"power"] = fmt.Sprintf("%s (needs %s against %s×)", num(pw.GetAchieved()), num(pw.GetRequired()), num(pw.GetCriticalEffect()))
		}
		if st := c.GetSettle(); st != nil && st.Minutes != nil {
			md[p+"settleMinutes"] = num(st.GetMinutes())
		}
		if e := c.GetError(); e != nil {
			md[p+"error"] = e.GetCode() + ": " + e.GetMessage()
		}
	}
	return md
}

func sideText(s *judgev1.SideCounts) string {
	t := num(s.GetBad()) + " bad of " + num(s.GetRequests())
	if s.Rate != nil {
		t += " (" + num(100*s.GetRate()) + "%)"
	}
	return t
}

// num prints a number with three significant digits, as the judge's summaries do.
func num(v float64) string {
	return strconv.FormatFloat(v, 'g', 3, 64)
}

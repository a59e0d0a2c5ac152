// Turns a template's plugin configuration and the AnalysisRun it runs in into the judge's
// AnalyzeRequest. What the AnalysisRun says is taken from it, so a template repeats only the
// per-step parameters: Argo creates a Rollout's AnalysisRuns in the Rollout's namespace, owned
// by the Rollout (a controller ownerReference of kind Rollout), and labelled with the canary's
// rollouts-pod-template-hash (rollout/analysis.go, utils/analysis/factory.go). The stable's hash
// is on neither, so pod-hash mode needs it from the template (podTemplateHashValue: Stable).
package provider

import (
	"fmt"

	"github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"

	judgev1 "canary-judge/plugins/metric/internal/gen/canary_judge/v1"
)

// Where an AnalysisRun keeps the canary's pod-template hash (v1alpha1.DefaultRolloutUniqueLabelKey).
const podTemplateHashLabel = "rollouts-pod-template-hash"

func buildRequest(c Config, run *v1alpha1.AnalysisRun) (*judgev1.AnalyzeRequest, error) {
	if run == nil {
		return nil, fmt.Errorf("no AnalysisRun in the call")
	}
	rollout, err := rolloutOf(c.Rollout, run)
	if err != nil {
		return nil, err
	}
	selector, err := selectorOf(c.Selector, run)
	if err != nil {
		return nil, err
	}
	req := &judgev1.AnalyzeRequest{
		Rollout:   rollout,
		Selector:  selector,
		Start:     c.Start,
		Interval:  c.Interval,
		FailBelow: c.FailBelow.ptr(),
	}
	for _, ch := range c.Checks {
		req.Checks = append(req.Checks, checkOf(ch))
	}
	return req, nil
}

func rolloutOf(c RolloutConfig, run *v1alpha1.AnalysisRun) (*judgev1.Rollout, error) {
	name := c.Name
	if name == "" {
		for _, o := range run.OwnerReferences {
			if o.Kind == "Rollout" && o.Controller != nil && *o.Controller {
				name = o.Name
			}
		}
	}
	if name == "" {
		return nil, fmt.Errorf("AnalysisRun %s/%s is not owned by a Rollout: set rollout.name in the plugin configuration", run.Namespace, run.Name)
	}
	namespace := c.Namespace
	if namespace == "" {
		namespace = run.Namespace
	}
	return &judgev1.Rollout{Name: name, Namespace: namespace}, nil
}

func selectorOf(c SelectorConfig, run *v1alpha1.AnalysisRun) (*judgev1.Selector, error) {
	pair := &judgev1.SidePair{Canary: c.Canary, Stable: c.Stable}
	switch c.Mode {
	case "", "pod-hash":
		if pair.Canary == "" {
			pair.Canary = run.Labels[podTemplateHashLabel]
		}
		if pair.Canary == "" {
			return nil, fmt.Errorf("AnalysisRun %s/%s has no %s label: set selector.canary in the plugin configuration", run.Namespace, run.Name, podTemplateHashLabel)
		}
		if pair.Stable == "" {
			return nil, fmt.Errorf("selector.stable is empty: pass the stable's pod-template hash (valueFrom.podTemplateHashValue: Stable)")
		}
		return &judgev1.Selector{Mode: &judgev1.Selector_PodHash{PodHash: pair}}, nil
	case "service":
		return &judgev1.Selector{Mode: &judgev1.Selector_Service{Service: pair}}, nil
	case "version":
		return &judgev1.Selector{Mode: &judgev1.Selector_Version{Version: pair}}, nil
	}
	return nil, fmt.Errorf("selector.mode %q is not pod-hash, service or version", c.Mode)
}

func checkOf(c CheckConfig) *judgev1.Check {
	ch := &judgev1.Check{
		Name:             c.Name,
		Alpha:            c.Alpha.ptr(),
		Margin:           c.Margin.ptr(),
		CriticalEffect:   c.CriticalEffect.ptr(),
		CriticalIncrease: c.CriticalIncrease.ptr(),
		Power:            c.Power.ptr(),
		Weight:           c.Weight.ptr(),
		Critical:         c.Critical.ptr(),
	}
	if c.Type == "latency" {
		l := &judgev1.LatencyCheck{}
		if c.Quantile.set {
			l.Threshold = &judgev1.LatencyCheck_Quantile{Quantile: c.Quantile.v}
		} else {
			l.Threshold = &judgev1.LatencyCheck_ThresholdMs{ThresholdMs: c.ThresholdMs.v}
		}
		ch.Kind = &judgev1.Check_Latency{Latency: l}
		return ch
	}
	e := &judgev1.ErrorRateCheck{ErrorCodes: c.ErrorCodes}
	if c.ResponseFlags != "" {
		f := c.ResponseFlags
		e.ResponseFlags = &f
	}
	ch.Kind = &judgev1.Check_ErrorRate{ErrorRate: e}
	return ch
}

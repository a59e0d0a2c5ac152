/**
 * A caller's own PromQL (a ratio check's `bad` and `total`, a gauge check's `value`), completed by the judge: the side's
 * label matchers rendered for an application's metrics and put where the expression says
 * `$selector`, then the counters sampled per pod at the grid points for the judge to difference.
 *
 * An application's metrics are not labelled like the mesh's (no reporter, no destination_*):
 * they carry the pod that exported them, as Prometheus' Kubernetes pod discovery and the
 * Prometheus Operator's PodMonitor/ServiceMonitor relabel it (`namespace`, `pod`; label names
 * configurable). Values are escaped exactly as for the mesh's selectors (./promql.ts).
 */

import {
  SELECTOR_PLACEHOLDER,
  podPattern,
  type AppLabels,
  type SelectorMode,
  type SeriesShape,
  type SideSelector,
} from '../judge/metrics-source.js';
import { quote, render, withExtraMatchers } from './promql.js';

/**
 * The matchers of one side per selector mode. `pod-hash`: the pod name is
 * `<rollout>-<hash>-<suffix>`, the suffix without a dash (so a Rollout whose name extends ours
 * is not matched). `version`: the rollout's pods (any hash) with that `version` label. `service`
 * has none: an application's series do not say which Service a caller named (the request schema
 * refuses a ratio check in that mode).
 */
export const APP_SELECTOR_TEMPLATES: Readonly<Record<SelectorMode, string | null>> = {
  'pod-hash': '{{namespaceLabel}}={{namespace}}, {{podLabel}}=~{{podPattern}}',
  service: null,
  version: '{{namespaceLabel}}={{namespace}}, {{podLabel}}=~{{podPattern}}, {{versionLabel}}={{value}}',
};

/** The side's matchers for application metrics; null when the mode has none. */
export function renderAppSelector(side: SideSelector, labels: AppLabels): string | null {
  const template = APP_SELECTOR_TEMPLATES[side.mode];
  if (template === null) return null;
  const pod = podPattern(side);
  const own = render(template, {
    namespaceLabel: labels.namespace,
    podLabel: labels.pod,
    versionLabel: labels.version,
    namespace: quote(side.namespace),
    podPattern: quote(pod),
    value: quote(side.value),
  });
  return withExtraMatchers(own, side, new Set([labels.namespace, labels.pod, labels.version]));
}

/**
 * The expression with every `$selector` replaced by the side's matchers (already rendered and
 * escaped). The request schema guarantees the placeholder is there and is the only one.
 */
export function fillSelector(expression: string, selector: string): string {
  return expression.split(SELECTOR_PLACEHOLDER).join(selector);
}

/**
 * An expression's values at the grid points, one series per pod: a series scraped twice counts
 * once (`max without (<scrape labels>)`), then the pod's series are combined by `aggregation`
 * (grouped by namespace and pod, so that the judge can check each series is the side's):
 * `sum` for counters (the judge differences the points itself, resets and pods that come and
 * go, so nothing here extrapolates), `avg` for a gauge (the judge averages a side's pods). A
 * series without them (an expression that aggregated them away) groups as empty, as in PromQL,
 * and the check refuses it as not the side's.
 */
export function byPod(
  aggregation: 'sum' | 'avg',
  filled: string,
  labels: AppLabels,
  scrapeLabels: readonly string[] | undefined,
): { readonly text: string; readonly shape: SeriesShape } {
  const inner =
    scrapeLabels === undefined || scrapeLabels.length === 0
      ? `(${filled})`
      : `(max without (${scrapeLabels.join(', ')}) (${filled}))`;
  const by = [labels.namespace, labels.pod];
  return {
    text: `${aggregation} by (${by.join(', ')}) ${inner}`,
    shape: { kind: 'one-per', labels: by, required: [] },
  };
}

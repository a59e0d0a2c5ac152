/**
 * PromQL as named templates, rendered by one function that refuses a missing variable.
 *
 * Queries are built only from validated request values, and every value is still escaped where
 * it lands: label values as PromQL double-quoted strings, and regex fragments (the pod-name
 * pattern) with RE2 metacharacters escaped first. Metric and label names come from config and
 * are checked against Prometheus' name grammar at start.
 */

import {
  podPattern,
  type MeshNames,
  type MeshSeries,
  type SelectorMode,
  type SeriesShape,
  type SideSelector,
} from '../judge/metrics-source.js';

export const ISTIO_NAMES: MeshNames = {
  requestsMetric: 'istio_requests_total',
  durationMetric: 'istio_request_duration_milliseconds',
  labels: {
    reporter: 'reporter',
    responseCode: 'response_code',
    responseFlags: 'response_flags',
    pod: 'pod',
    workload: 'destination_workload',
    workloadNamespace: 'destination_workload_namespace',
    serviceName: 'destination_service_name',
    serviceNamespace: 'destination_service_namespace',
    version: 'destination_version',
  },
  scrapeLabels: ['job', 'instance'],
};

export const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
export const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * The label matchers of one side (canary or stable), per selector mode (docs/api.md, "Selector modes").
 * `pod-hash`: the destination's sidecar reports, and the pod name is `<rollout>-<hash>-<suffix>`;
 * the suffix has no dash, so a Rollout whose name extends ours is not matched.
 * `service`: the caller's sidecar reports which Service host it called (host split).
 * `version`: the destination reports its `version` pod label.
 */
export const SELECTOR_TEMPLATES: Readonly<Record<SelectorMode, string>> = {
  'pod-hash': [
    '{{reporterLabel}}="destination", ',
    '{{workloadNamespaceLabel}}={{namespace}}, ',
    '{{podLabel}}=~{{podPattern}}',
  ].join(''),
  service: [
    '{{reporterLabel}}="source", ',
    '{{serviceNamespaceLabel}}={{namespace}}, ',
    '{{serviceNameLabel}}={{value}}',
  ].join(''),
  version: [
    '{{reporterLabel}}="destination", ',
    '{{workloadNamespaceLabel}}={{namespace}}, ',
    '{{workloadLabel}}={{rollout}}, ',
    '{{versionLabel}}={{value}}',
  ].join(''),
};

/** At most one series: an aggregation without grouping (`sum(…)`). */
const ONE = (): SeriesShape => ({ kind: 'one' });
/** At most one series per pod (reporting target), response code [and flags]: `sum by (…)`. */
const PER_POD_CODE = (l: MeshNames['labels']): SeriesShape => ({
  kind: 'one-per',
  labels: [l.pod, l.responseCode],
  required: [],
});
const PER_POD_CODE_FLAGS = (l: MeshNames['labels']): SeriesShape => ({
  kind: 'one-per',
  labels: [l.pod, l.responseCode, l.responseFlags],
  required: [],
});
/** At most one series per pod and bucket bound, every one with its bound: `sum by (pod, le)`. */
const PER_POD_LE = (l: MeshNames['labels']): SeriesShape => ({
  kind: 'one-per',
  labels: [l.pod, 'le'],
  required: ['le'],
});

/**
 * Queries of a check, evaluated as range queries with step = interval over the window's grid,
 * its baseline point (the window start) included: the raw cumulative counters at each grid
 * point, summed per reporting target (the pod that exported them) and per what the check
 * classifies by. The judge takes the differences (src/judge/counts/counter-increases.ts): a
 * series born inside the window is counted from zero, a drop is a reset, and nothing is
 * extrapolated, so the counts are the requests the scraped samples hold.
 * `{{dedup}}…{{dedupEnd}}` is `max without (<scrape labels>) (…)` (MeshNames.scrapeLabels): a
 * series scraped twice counts once, before the sum adds a pod's series together. Each template
 * is written one PromQL term per line and rendered on one line, and declares the series its
 * outer aggregation promises (`shape`, from the mesh's label names): the judge refuses an
 * answer with more (src/judge/series-shape.ts) rather than add them up.
 */
export const QUERY_TEMPLATES = {
  /** Requests of one side per pod and response code (the check classifies the codes). */
  requestsByCode: {
    template: [
      'sum by ({{podLabel}}, {{responseCodeLabel}}) ({{dedup}}',
      '{{requestsMetric}}{{{selector}}}',
      '{{dedupEnd}})',
    ].join(''),
    shape: PER_POD_CODE,
  },
  /** The same, also per Envoy response flags (for a check that counts flags as errors). */
  requestsByCodeAndFlags: {
    template: [
      'sum by ({{podLabel}}, {{responseCodeLabel}}, {{responseFlagsLabel}}) ({{dedup}}',
      '{{requestsMetric}}{{{selector}}}',
      '{{dedupEnd}})',
    ].join(''),
    shape: PER_POD_CODE_FLAGS,
  },
  /** Cumulative duration bucket counters of one side, per pod and `le`. */
  latencyBuckets: {
    template: [
      'sum by ({{podLabel}}, le) ({{dedup}}',
      '{{durationMetric}}_bucket{{{selector}}}',
      '{{dedupEnd}})',
    ].join(''),
    shape: PER_POD_LE,
  },
  /** Any request counter on a side: the first point where it exists is the side's first sample. */
  presence: { template: 'sum({{dedup}}{{requestsMetric}}{{{selector}}}{{dedupEnd}})', shape: ONE },
} as const satisfies Record<
  MeshSeries,
  { readonly template: string; readonly shape: (labels: MeshNames['labels']) => SeriesShape }
>;

export class TemplateError extends Error {
  override readonly name = 'TemplateError';
}

/** Replaces every `{{name}}`; throws on a variable the caller did not supply. */
export function render(template: string, vars: Readonly<Record<string, string>>): string {
  // `{{{selector}}}` is a literal `{` followed by `{{selector}}`.
  return template.replace(/\{\{([a-zA-Z][a-zA-Z0-9]*)\}\}/g, (_, name: string) => {
    const v = vars[name];
    if (v === undefined) throw new TemplateError(`PromQL template variable "${name}" is missing`);
    return v;
  });
}

/** A PromQL double-quoted string literal holding exactly `value`. */
export function quote(value: string): string {
  let out = '"';
  for (const ch of value) {
    if (ch === '\\') out += '\\\\';
    else if (ch === '"') out += '\\"';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else out += ch;
  }
  return `${out}"`;
}

/**
 * Labels the side's selector or the queries set themselves: an extra matcher on one of them
 * would contradict or narrow what the judge compares, so it is refused.
 */
export function selectorLabels(names: MeshNames): ReadonlySet<string> {
  const l = names.labels;
  return new Set([
    '__name__',
    'le',
    l.reporter,
    l.responseCode,
    l.responseFlags,
    l.pod,
    l.workload,
    l.workloadNamespace,
    l.serviceName,
    l.serviceNamespace,
    l.version,
  ]);
}

/**
 * Renders the label matchers of one side; with `podPatternOverride`, a `pod-hash` selector
 * matching those pods instead of the side's own (both sides' pods, bothSidesPodPattern).
 */
export function renderSelector(side: SideSelector, names: MeshNames, podPatternOverride?: string): string {
  const vars: Record<string, string> = {
    reporterLabel: names.labels.reporter,
    workloadNamespaceLabel: names.labels.workloadNamespace,
    serviceNamespaceLabel: names.labels.serviceNamespace,
    serviceNameLabel: names.labels.serviceName,
    workloadLabel: names.labels.workload,
    versionLabel: names.labels.version,
    podLabel: names.labels.pod,
    namespace: quote(side.namespace),
    rollout: quote(side.rollout),
    value: quote(side.value),
  };
  if (side.mode === 'pod-hash') {
    vars['podPattern'] = quote(podPatternOverride ?? podPattern(side));
  }
  return withExtraMatchers(render(SELECTOR_TEMPLATES[side.mode], vars), side, selectorLabels(names));
}

/**
 * `own` followed by the side's extra matchers (`matchers`), sorted by name, values quoted. A name
 * outside Prometheus' grammar or among `reserved` (labels `own` already sets) is refused.
 */
export function withExtraMatchers(own: string, side: SideSelector, reserved: ReadonlySet<string>): string {
  const extra = Object.keys(side.matchers ?? {})
    .sort()
    .map((name) => {
      if (!LABEL_NAME.test(name) || reserved.has(name))
        throw new TemplateError(`label "${name}" cannot be an extra matcher`);
      return `${name}=${quote((side.matchers as Record<string, string>)[name] as string)}`;
    });
  return extra.length === 0 ? own : `${own}, ${extra.join(', ')}`;
}

export interface QueryVars {
  readonly selector: string;
}

/** Renders one named query for one side. */
export function renderQuery(name: MeshSeries, v: QueryVars, names: MeshNames): string {
  const vars: Record<string, string> = {
    requestsMetric: names.requestsMetric,
    durationMetric: names.durationMetric,
    responseCodeLabel: names.labels.responseCode,
    responseFlagsLabel: names.labels.responseFlags,
    podLabel: names.labels.pod,
    selector: v.selector,
    dedup:
      names.scrapeLabels === undefined || names.scrapeLabels.length === 0
        ? ''
        : `max without (${names.scrapeLabels.join(', ')}) (`,
    dedupEnd: names.scrapeLabels === undefined || names.scrapeLabels.length === 0 ? '' : ')',
  };
  return render(QUERY_TEMPLATES[name].template, vars);
}

/** One named query rendered for one side, with the series shape its template promises. */
export function namedQuery(
  name: MeshSeries,
  v: QueryVars,
  names: MeshNames,
): { readonly text: string; readonly shape: SeriesShape } {
  return { text: renderQuery(name, v, names), shape: QUERY_TEMPLATES[name].shape(names.labels) };
}

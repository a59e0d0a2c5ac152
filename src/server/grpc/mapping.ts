/**
 * Proto messages ↔ the judge's types. A request becomes the judge's request model (typed values,
 * src/judge/request.ts) and is validated by the same schema as an HTTP body, so both transports
 * accept exactly the same analyses; an error's field path is then renamed to where the field
 * lives in the proto message. Every closed union of the result has an exhaustive table to its
 * proto enum.
 */

import type {
  AnalysisResult,
  AnalysisWindow,
  CheckReason,
  CheckResult,
  CheckType,
  GaugeEvidenceRecord,
  LatencyThreshold,
  QuantileEstimates,
} from '../../judge/index.js';
import type { EffectEstimate, ScorecardReason, SideSummary, Verdict } from '../../stats/index.js';
import type { SelectorMode } from '../../judge/request.js';
import {
  AnalyzeRequest,
  AnalyzeResponse,
  CheckResult as PbCheckResult,
  CheckType as PbCheckType,
  LatencyThreshold_Basis as PbThresholdBasis,
  LatencyThreshold_Source as PbThresholdSource,
  Reason as PbReason,
  Scorecard_Reason as PbScorecardReason,
  Window_StartSource as PbStartSource,
  Verdict as PbVerdict,
  type Check as PbCheck,
  type Quantiles as PbQuantiles,
  type Selector as PbSelector,
  type SideCounts as PbSideCounts,
} from '../../gen/canary_judge/v1/judge.js';

type SelectorCase = NonNullable<PbSelector['mode']>['$case'];
type CheckCase = NonNullable<PbCheck['kind']>['$case'];

const SELECTOR_MODE: Readonly<Record<SelectorCase, SelectorMode>> = {
  podHash: 'pod-hash',
  service: 'service',
  version: 'version',
};

const SELECTOR_CASE: Readonly<Record<SelectorMode, SelectorCase>> = {
  'pod-hash': 'podHash',
  service: 'service',
  version: 'version',
};

const CHECK_KIND: Readonly<Record<CheckCase, CheckType>> = {
  errorRate: 'error-rate',
  latency: 'latency',
  ratio: 'ratio',
  gauge: 'gauge',
};

export const VERDICT: Readonly<Record<Verdict, PbVerdict>> = {
  Pass: PbVerdict.VERDICT_PASS,
  Fail: PbVerdict.VERDICT_FAIL,
  Inconclusive: PbVerdict.VERDICT_INCONCLUSIVE,
};

export const REASON: Readonly<Record<CheckReason, PbReason>> = {
  regression_detected: PbReason.REASON_REGRESSION_DETECTED,
  no_regression: PbReason.REASON_NO_REGRESSION,
  insufficient_data: PbReason.REASON_INSUFFICIENT_DATA,
  suspected_regression: PbReason.REASON_SUSPECTED_REGRESSION,
  no_canary_traffic: PbReason.REASON_NO_CANARY_TRAFFIC,
  no_stable_traffic: PbReason.REASON_NO_STABLE_TRAFFIC,
  invalid_data: PbReason.REASON_INVALID_DATA,
  query_error: PbReason.REASON_QUERY_ERROR,
};

export const CHECK_TYPE: Readonly<Record<CheckType, PbCheckType>> = {
  'error-rate': PbCheckType.CHECK_TYPE_ERROR_RATE,
  latency: PbCheckType.CHECK_TYPE_LATENCY,
  ratio: PbCheckType.CHECK_TYPE_RATIO,
  gauge: PbCheckType.CHECK_TYPE_GAUGE,
};

export const SCORECARD_REASON: Readonly<Record<ScorecardReason, PbScorecardReason>> = {
  no_checks: PbScorecardReason.REASON_NO_CHECKS,
  critical_failure: PbScorecardReason.REASON_CRITICAL_FAILURE,
  score_below_threshold: PbScorecardReason.REASON_SCORE_BELOW_THRESHOLD,
  all_passed: PbScorecardReason.REASON_ALL_PASSED,
  checks_failed: PbScorecardReason.REASON_CHECKS_FAILED,
  checks_inconclusive: PbScorecardReason.REASON_CHECKS_INCONCLUSIVE,
};

const START_SOURCE: Readonly<Record<AnalysisWindow['startSource'], PbStartSource>> = {
  explicit: PbStartSource.START_SOURCE_EXPLICIT,
  'canary-first-sample': PbStartSource.START_SOURCE_CANARY_FIRST_SAMPLE,
};

const THRESHOLD_SOURCE: Readonly<Record<LatencyThreshold['source'], PbThresholdSource>> = {
  slo: PbThresholdSource.SOURCE_SLO,
  'stable-quantile': PbThresholdSource.SOURCE_STABLE_QUANTILE,
};

/** Proto3 has no null for a scalar string: empty means "not given". */
function text(s: string): string | undefined {
  return s === '' ? undefined : s;
}

function checkInput(c: PbCheck): Record<string, unknown> {
  const check: Record<string, unknown> = {};
  if (c.kind !== undefined) check['type'] = CHECK_KIND[c.kind.$case];
  if (c.name !== '') check['name'] = c.name;
  if (c.alpha !== undefined) check['alpha'] = c.alpha;
  if (c.margin !== undefined) check['margin'] = c.margin;
  if (c.criticalEffect !== undefined) check['criticalEffect'] = c.criticalEffect;
  if (c.criticalIncrease !== undefined) check['criticalIncrease'] = c.criticalIncrease;
  if (c.power !== undefined) check['power'] = c.power;
  if (c.weight !== undefined) check['weight'] = c.weight;
  if (c.critical !== undefined) check['critical'] = c.critical;
  if (c.kind?.$case === 'errorRate') {
    const codes = text(c.kind.value.errorCodes);
    if (codes !== undefined) check['errorCodes'] = codes;
    if (c.kind.value.responseFlags !== undefined) check['responseFlags'] = c.kind.value.responseFlags;
  } else if (c.kind?.$case === 'latency') {
    const t = c.kind.value.threshold;
    if (t?.$case === 'thresholdMs') check['thresholdMs'] = t.value;
    else if (t?.$case === 'quantile') check['quantile'] = t.value;
  } else if (c.kind?.$case === 'ratio') {
    // Empty is "not given": the schema then says the expression is required.
    const bad = text(c.kind.value.bad);
    const total = text(c.kind.value.total);
    if (bad !== undefined) check['bad'] = bad;
    if (total !== undefined) check['total'] = total;
  } else if (c.kind?.$case === 'gauge') {
    const g = c.kind.value;
    const value = text(g.value);
    if (value !== undefined) check['value'] = value;
    if (g.direction !== undefined) check['direction'] = g.direction;
    if (g.scale !== undefined) check['scale'] = g.scale;
    if (g.tolerance !== undefined) check['tolerance'] = g.tolerance;
  }
  return check;
}

/**
 * The request in the judge's model, for `parseAnalysisRequest`. Unset messages and oneofs are
 * left out, so the schema reports them as missing exactly as it would for an HTTP body.
 */
export function toRequestModel(m: AnalyzeRequest): Record<string, unknown> {
  const model: Record<string, unknown> = {};
  if (m.rollout !== undefined) model['rollout'] = { name: m.rollout.name, namespace: m.rollout.namespace };
  if (m.selector !== undefined) {
    const mode = m.selector.mode;
    model['selector'] =
      mode === undefined
        ? {}
        : { mode: SELECTOR_MODE[mode.$case], canary: mode.value.canary, stable: mode.value.stable };
  }
  const start = text(m.start);
  const end = text(m.end);
  const interval = text(m.interval);
  if (start !== undefined) model['start'] = start;
  if (end !== undefined) model['end'] = end;
  if (interval !== undefined) model['interval'] = interval;
  model['checks'] = m.checks.map(checkInput);
  if (m.failBelow !== undefined) model['failBelow'] = m.failBelow;
  if (m.timeline !== undefined) model['timeline'] = m.timeline;
  // proto3 cannot tell an empty map from an unset one: both mean no extra matchers.
  if (Object.keys(m.matchers).length > 0) model['matchers'] = { ...m.matchers };
  return model;
}

export interface ProtoFieldError {
  /** Path in the proto message (proto JSON names), e.g. `checks[0].latency.thresholdMs`. */
  readonly field: string;
  readonly message: string;
}

/** Model fields that live inside a oneof case of the proto message. */
const CHECK_ONEOF_FIELD: Readonly<Record<string, string>> = {
  errorCodes: 'errorRate.errorCodes',
  responseFlags: 'errorRate.responseFlags',
  thresholdMs: 'latency.thresholdMs',
  quantile: 'latency.quantile',
  bad: 'ratio.bad',
  total: 'ratio.total',
  value: 'gauge.value',
  direction: 'gauge.direction',
  scale: 'gauge.scale',
  tolerance: 'gauge.tolerance',
};

/**
 * Renames a field path of the model (`checks[0].errorCodes`) to the proto message's
 * (`checks[0].errorRate.errorCodes`). Most names are the same, since the model uses the proto
 * JSON names; only the oneofs differ.
 */
export function toProtoField(field: string, m: AnalyzeRequest): string {
  if (field === 'body') return 'request';
  const side = /^selector\.(canary|stable)$/.exec(field);
  if (side !== null) {
    const c = m.selector?.mode?.$case;
    return c === undefined ? field : `selector.${c}.${side[1] as string}`;
  }
  const check = /^(checks\[\d+\])\.(\w+)$/.exec(field);
  if (check === null) return field;
  const [, at, key] = check as unknown as [string, string, string];
  if (key === 'type') return `${at}.kind`;
  const inCase = CHECK_ONEOF_FIELD[key];
  return inCase === undefined ? field : `${at}.${inCase}`;
}

/**
 * A schema error in the proto message's terms: the path renamed, and the two model keys that
 * are oneofs in the proto (`selector.mode`, a check's `type`) said as the oneof to set.
 */
export function toProtoFieldError(field: string, message: string, m: AnalyzeRequest): ProtoFieldError {
  const at = toProtoField(field, m);
  if (field === 'selector.mode')
    return { field, message: 'selector must set one of podHash, service or version' };
  if (at.endsWith('.kind') && /^checks\[\d+\]\.kind$/.test(at))
    return { field: at, message: 'a check must set one of errorRate, latency, ratio or gauge' };
  return { field: at, message };
}

function side(s: SideSummary | null): PbSideCounts | undefined {
  if (s === null) return undefined;
  return { requests: s.requests, bad: s.bad, ...(s.rate === null ? {} : { rate: s.rate }) };
}

function counts(c: { readonly requests: number; readonly bad: number }): PbSideCounts {
  return { requests: c.requests, bad: c.bad, ...(c.requests > 0 ? { rate: c.bad / c.requests } : {}) };
}

/** null → unset (proto3 `optional`). */
function opt<K extends string>(key: K, v: number | null | undefined): { [P in K]?: number } {
  return (v === null || v === undefined ? {} : { [key]: v }) as { [P in K]?: number };
}

function quantiles(q: QuantileEstimates): PbQuantiles {
  return { ...opt('p50', q.p50), ...opt('p95', q.p95), ...opt('p99', q.p99) };
}

const THRESHOLD_BASIS: Readonly<Record<NonNullable<LatencyThreshold['basis']>, PbThresholdBasis>> = {
  'stable-before-window': PbThresholdBasis.BASIS_STABLE_BEFORE_WINDOW,
  'stable-in-window': PbThresholdBasis.BASIS_STABLE_IN_WINDOW,
};

function effectOf(e: EffectEstimate): PbCheckResult['effect'] {
  return {
    ...opt('ratio', e.ratio),
    ...opt('lower', e.lower),
    ...opt('upper', e.upper),
    confidence: e.confidence,
  };
}

/** A gauge record as its proto message; direction, scale and tolerance come from the params. */
function gaugeOf(g: GaugeEvidenceRecord, p: CheckResult['params']): PbCheckResult['gauge'] {
  const evidence = (e: GaugeEvidenceRecord['fail']) => ({
    eValue: e.eValue,
    maxEValue: e.maxEValue,
    threshold: e.threshold,
    hits: e.hits,
  });
  const s = g.serialDependence;
  return {
    direction: 'direction' in p ? p.direction : '',
    scale: g.degradation.scale,
    tolerance: 'tolerance' in p ? p.tolerance : 0,
    canaryOnly: g.unpaired.canaryOnly,
    stableOnly: g.unpaired.stableOnly,
    canary: { intervals: g.canary.intervals, ...opt('median', g.canary.median) },
    stable: { intervals: g.stable.intervals, ...opt('median', g.stable.median) },
    ...opt('estimate', g.degradation.estimate),
    ...opt('lower', g.degradation.lower),
    ...opt('upper', g.degradation.upper),
    fail: evidence(g.fail),
    pass: evidence(g.pass),
    pValue: g.pValue,
    serialDependence:
      s === null ? undefined : { runs: s.runs, expectedRuns: s.expectedRuns, z: s.z, suspected: s.suspected },
    ...(g.problem === undefined ? {} : { problem: g.problem }),
  };
}

/** The parameters as CheckParams: a gauge's margin and critical_increase are 0 (it has none). */
function paramsOf(p: CheckResult['params']): PbCheckResult['params'] {
  return {
    alpha: p.alpha,
    margin: 'margin' in p ? p.margin : 0,
    criticalEffect: p.criticalEffect,
    power: p.power,
    weight: p.weight,
    critical: p.critical,
    criticalIncrease: 'criticalIncrease' in p ? p.criticalIncrease : 0,
  };
}

function checkResult(c: CheckResult): PbCheckResult {
  const t = c.threshold;
  return PbCheckResult.fromPartial({
    name: c.name,
    type: CHECK_TYPE[c.type],
    verdict: VERDICT[c.verdict],
    reason: REASON[c.reason],
    summary: c.summary,
    params: paramsOf(c.params),
    canary: side(c.canary),
    stable: side(c.stable),
    effect: c.effect === null ? undefined : effectOf(c.effect),
    evidence: c.evidence === null ? undefined : { ...c.evidence },
    power: c.power === null ? undefined : { ...c.power },
    intervals: c.intervals,
    ...(c.errorCodes === undefined ? {} : { errorCodes: c.errorCodes }),
    ...(c.responseFlags === undefined ? {} : { responseFlags: c.responseFlags }),
    threshold:
      t === undefined
        ? undefined
        : {
            source: THRESHOLD_SOURCE[t.source],
            ...opt('ms', t.ms),
            ...opt('requestedMs', t.requestedMs),
            ...opt('quantile', t.quantile),
            ...opt('stableQuantileMs', t.stableQuantileMs),
            ...(t.basis === undefined ? {} : { basis: THRESHOLD_BASIS[t.basis] }),
            ...opt('lowMs', t.lowMs),
            ...opt('decidingMs', t.decidingMs),
          },
    quantiles:
      c.quantiles === undefined
        ? undefined
        : { canary: quantiles(c.quantiles.canary), stable: quantiles(c.quantiles.stable) },
    error: c.error === undefined ? undefined : { code: c.error.code, message: c.error.message },
    queries: [...c.queries],
    floor: c.floor === undefined ? undefined : { ...c.floor },
    settle: c.settleMinutes === undefined ? undefined : opt('minutes', c.settleMinutes),
    timeline: (c.timeline ?? []).map((p) => ({
      end: p.end,
      canary: counts(p.canary),
      stable: counts(p.stable),
      eValue: p.eValue,
      power: p.power,
    })),
    gauge: c.gauge === undefined ? undefined : gaugeOf(c.gauge, c.params),
    edges: (c.edges ?? []).map((e) => ({
      ...opt('ms', e.ms),
      canary: side(e.canary),
      stable: side(e.stable),
      effect: effectOf(e.effect),
      eValue: e.eValue,
      power: e.power,
      floor: { ...e.floor },
    })),
  });
}

/** The judge's result as the proto response: the same numbers, nulls as unset fields. */
export function toAnalyzeResponse(r: AnalysisResult): AnalyzeResponse {
  const mode = r.selector.mode;
  const card = r.scorecard;
  const pair = { canary: r.selector.canary, stable: r.selector.stable };
  return AnalyzeResponse.fromPartial({
    verdict: VERDICT[r.verdict],
    score: r.score,
    summary: r.summary,
    judge: r.judge,
    rollout: { name: r.rollout.name, namespace: r.rollout.namespace },
    selector: { mode: { $case: SELECTOR_CASE[mode], value: pair } },
    window: {
      ...(r.window.start === null ? {} : { start: r.window.start }),
      end: r.window.end,
      interval: r.window.interval,
      intervals: r.window.intervals,
      startSource: START_SOURCE[r.window.startSource],
    },
    checks: r.checks.map(checkResult),
    timing: { totalMs: r.timing.totalMs, prometheusMs: r.timing.prometheusMs, queries: r.timing.queries },
    scorecard:
      card === undefined
        ? undefined
        : {
            reason: SCORECARD_REASON[card.reason],
            maxScore: card.maxScore,
            failBelow: card.failBelow,
            ...opt('familyWiseAlpha', card.familyWiseAlpha),
          },
  });
}

/** Re-exported so callers of the mapping need not reach into src/gen. */
export { AnalyzeRequest, AnalyzeResponse };

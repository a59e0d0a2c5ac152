/**
 * The seam between the judge and the store its metrics come from. A check kind asks for named
 * series of one side over a grid, in the judge's terms: one of the mesh's series the judge knows
 * by name, or the caller's own expression with `$selector` where the side's matchers go. The
 * source turns a request into its own query language, runs it, and answers series (labels and
 * points); its limits (points per series) and its failures (the error codes of src/errors.ts)
 * come with it. The Prometheus source (src/prometheus/source.ts) is the one there is: PromQL
 * rendering, the HTTP client, Prometheus' 11,000-point limit and its error classes live there,
 * and nothing under src/judge imports them (test/unit/layering.test.ts).
 */
import { SELECTOR_PLACEHOLDER, type SelectorMode } from './request.js';
import type { SeriesShape } from './series-shape.js';

export { SELECTOR_PLACEHOLDER, type SelectorMode, type SeriesShape };

/** One point of a series. */
export interface Sample {
  /** Unix time in seconds. */
  readonly t: number;
  /** Its value; NaN and ±Inf are kept as such for the judge to refuse. */
  readonly v: number;
}

/** One series of an answer: its labels and its points, in time order. */
export interface Series {
  readonly labels: Readonly<Record<string, string>>;
  readonly samples: readonly Sample[];
}

/** The points a series is asked for: `start`, `start + step`, …, up to `end`. */
export interface Grid {
  /** Unix seconds. */
  readonly start: number;
  readonly end: number;
  /** Seconds. */
  readonly step: number;
}

/** Metric and label names of the mesh's series; Istio's by default, overridable for other meshes. */
export interface MeshNames {
  /** Counter of requests, labelled by response code. */
  readonly requestsMetric: string;
  /** Classic histogram of request durations, without the `_bucket` suffix. */
  readonly durationMetric: string;
  readonly labels: {
    readonly reporter: string;
    readonly responseCode: string;
    readonly responseFlags: string;
    readonly pod: string;
    readonly workload: string;
    readonly workloadNamespace: string;
    readonly serviceName: string;
    readonly serviceNamespace: string;
    readonly version: string;
  };
  /**
   * Labels that tell two scrapes of the same series apart (two scrape jobs on one sidecar, HA
   * replicas behind a query layer that does not deduplicate). Series equal in every other label
   * are one series counted twice: the queries keep their maximum before summing. Empty or unset:
   * no deduplication. The labels that identify a series (pod, response code, …) must not be here.
   */
  readonly scrapeLabels?: readonly string[];
}

/** Label names of an application's own metrics. */
export interface AppLabels {
  /** The pod's namespace (`__meta_kubernetes_namespace` relabelled). */
  readonly namespace: string;
  /** The pod's name (`__meta_kubernetes_pod_name` relabelled). */
  readonly pod: string;
  /** The pod's `version` label (a `labelmap` of `__meta_kubernetes_pod_label_(.+)` gives it). */
  readonly version: string;
}

export const DEFAULT_APP_LABELS: AppLabels = { namespace: 'namespace', pod: 'pod', version: 'version' };

/** Canary or stable side of an analysis: which pods it is, from the request. */
export interface SideSelector {
  readonly mode: SelectorMode;
  readonly rollout: string;
  readonly namespace: string;
  /** The hash, service name or version of this side. */
  readonly value: string;
  /**
   * Extra equality matchers of the request (`matchers`), added after the side's own: names
   * validated at the edge (the label grammar, none of the source's {@link MetricsSource.ownLabels}).
   */
  readonly matchers?: Readonly<Record<string, string>>;
}

/** Escapes RE2 metacharacters so `value` matches only itself inside a regex (RE2 and JavaScript alike). */
export function regexEscape(value: string): string {
  return value.replace(/[\\^$.|?*+()[\]{}]/g, '\\$&');
}

/**
 * The names of a side's pods, as a regex (RE2 and JavaScript alike, to be anchored): in
 * `pod-hash` mode `<rollout>-<hash>-<suffix>`, the suffix without a dash (so a Rollout whose name
 * extends ours is not matched); otherwise any pod of the rollout, `<rollout>-<hash>-<suffix>`.
 */
export function podPattern(side: SideSelector): string {
  const rollout = regexEscape(side.rollout);
  return side.mode === 'pod-hash'
    ? `${rollout}-${regexEscape(side.value)}-[a-z0-9]+`
    : `${rollout}-[a-z0-9]+-[a-z0-9]+`;
}

/**
 * The pods of both sides of a `pod-hash` analysis as one regex (`<rollout>-(?:<a>|<b>)-<suffix>`,
 * the hashes sorted, so either side renders the same text), or undefined when the two sides
 * cannot be told apart by pod name alone: another selector mode, another Rollout or namespace,
 * or other extra matchers.
 */
export function bothSidesPodPattern(side: SideSelector, other: SideSelector): string | undefined {
  if (side.mode !== 'pod-hash' || other.mode !== 'pod-hash') return undefined;
  if (side.rollout !== other.rollout || side.namespace !== other.namespace) return undefined;
  if (!sameMatchers(side.matchers, other.matchers)) return undefined;
  const hashes = [...new Set([side.value, other.value])].sort().map(regexEscape);
  const hash = hashes.length === 1 ? (hashes[0] as string) : `(?:${hashes.join('|')})`;
  return `${regexEscape(side.rollout)}-${hash}-[a-z0-9]+`;
}

function sameMatchers(
  a: Readonly<Record<string, string>> | undefined,
  b: Readonly<Record<string, string>> | undefined,
): boolean {
  const ka = Object.keys(a ?? {});
  if (ka.length !== Object.keys(b ?? {}).length) return false;
  return ka.every((k) => b !== undefined && Object.hasOwn(b, k) && b[k] === a?.[k]);
}

/** The mesh's series the judge knows by name; the source says how to select them. */
export type MeshSeries =
  /** Requests of one side per pod and response code (the check classifies the codes). */
  | 'requestsByCode'
  /** The same, also per Envoy response flags (for a check that counts flags as errors). */
  | 'requestsByCodeAndFlags'
  /** Cumulative duration bucket counters of one side, per pod and `le`. */
  | 'latencyBuckets'
  /** Any request counter on a side: the first point where it exists is the side's first sample. */
  | 'presence';

/** The caller's own expression for one side: `$selector` where the side's matchers go. */
export interface CallerExpression {
  readonly expression: string;
  readonly side: SideSelector;
}

/**
 * What a check asks for: a named series of the mesh for one side, or the caller's expression for
 * one side, one series per pod, a pod's series added up (`sum`, counters) or averaged (`avg`,
 * gauges). Both are the raw values at the grid points; the judge takes the differences itself.
 */
export type SeriesRequest =
  | {
      readonly series: MeshSeries;
      readonly side: SideSelector;
      /**
       * The analysis' other side, asked for the same series over the same grid: the source may
       * then run one query for both and hand each side its own series (SourceQuery.pick).
       */
      readonly alongside?: SideSelector;
    }
  | (CallerExpression & { readonly perPod: 'sum' | 'avg' });

/** A request as the source will run it. */
export interface SourceQuery {
  /**
   * The query in the source's own language (PromQL for Prometheus): reported in the answer's
   * `queries`, and two requests with the same text are one query.
   */
  readonly text: string;
  /** The series its aggregation promises at most; the judge refuses an answer with more. */
  readonly shape: SeriesShape;
  /**
   * For a query that serves both sides (SeriesRequest.alongside): keeps the asking side's series
   * of the shared answer. The runner checks the whole answer first, then picks.
   */
  readonly pick?: (series: readonly Series[]) => Series[];
}

/** A caller's expression to have the source's parser check, before any query. */
export interface ExpressionCheck extends CallerExpression {
  /** The request field it comes from (`checks[0].bad`), named in a refusal. */
  readonly field: string;
  /** What its instant vector must hold, for the refusal of a range vector or scalar: "counters". */
  readonly holds: string;
}

export interface FetchOptions {
  /** Aborts the query (→ deadline_exceeded) when the analysis deadline passes. */
  readonly signal?: AbortSignal;
  /** Called once per query with its wall-clock span (ms, performance.now()), success or not. */
  readonly onSpan?: (startMs: number, endMs: number) => void;
}

/**
 * Where the series come from. Every failure is a JudgeError: prometheus_unavailable and
 * prometheus_timeout for an outage (the analysis answers 5xx), prometheus_bad_response for an
 * answer the judge cannot use (the check is Inconclusive), invalid_request for a caller's
 * expression the source refuses.
 */
export interface MetricsSource {
  /** Most points the source answers per series: a window never asks for more. */
  readonly maxPoints: number;
  /**
   * Labels the source's own selectors and queries set: an extra matcher on one of them would
   * contradict or narrow what the judge compares, so the request is refused.
   */
  readonly ownLabels: ReadonlySet<string>;
  /** The query for `request`; throws only on a request the request schema refuses. */
  query(request: SeriesRequest): SourceQuery;
  /** The query's answer at the points of `grid` (not yet checked against it: the runner does). */
  fetch(query: SourceQuery, grid: Grid, options?: FetchOptions): Promise<Series[]>;
  /**
   * Has the source's own parser check a caller's expression without reading data: one it refuses,
   * or one that is not an instant vector, is invalid_request naming the field.
   */
  checkExpression(check: ExpressionCheck, options?: FetchOptions): Promise<void>;
}

/**
 * Gauge-style checks (CPU, memory, any per-interval value): canary points vs stable points.
 *
 * - {@link mannWhitneyU}: the Mann-Whitney U test with ties handled exactly — the exact
 *   permutation distribution of the midrank sum for small samples, the tie-corrected normal
 *   approximation for large ones (as scipy.stats.mannwhitneyu / permutation_test compute them).
 * - {@link hodgesLehmann}: the Hodges–Lehmann shift estimate (median of canary − stable pairwise
 *   differences) with a confidence interval, either from the exact order statistics of the
 *   differences or by inverting the tie-corrected normal test as R's `wilcox.test(conf.int=TRUE)`
 *   and Kayenta's MannWhitney do.
 * - {@link gaugeCheck}: a verdict. By default a one-sided test of "canary shifted by more than the
 *   margin in the bad direction"; optionally Kayenta's NetflixACAJudge Mann-Whitney classifier
 *   (High / Low / Pass / Nodata). Either way a minimum sample size gates every Pass.
 *
 * These are fixed-sample tests. Unlike the count test they are not anytime-valid: looking every
 * interval and stopping at the first Fail raises the false-Fail rate above α. They are the weaker
 * option for metrics that are not request counts (docs/latency-and-gauges.md).
 */

import { normalCdf, normalQuantile } from '../../src/stats/special-functions.js';
import type { Reason, Verdict } from '../../src/stats/types.js';

export type MannWhitneyAlternative = 'two-sided' | 'greater' | 'less';
export type MannWhitneyMethod = 'auto' | 'exact' | 'asymptotic';

/** Samples of at most this many values in total get the exact distribution under `auto`. */
export const EXACT_MAX_TOTAL = 60;
/**
 * Largest total for which `method: 'exact'` is accepted at all: the dynamic programme costs
 * about n × min(n1, n2) × n² steps (≈ 0.1 s at 60 + 60, ≈ 20 s at 200 + 200).
 */
export const EXACT_HARD_LIMIT = 120;

export interface MannWhitneyOptions {
  /**
   * `greater`: the first sample (canary) tends to be larger; `less`: smaller. Default two-sided.
   */
  readonly alternative?: MannWhitneyAlternative;
  /** `auto` (default): exact when n1 + n2 ≤ EXACT_MAX_TOTAL, ties or not; else asymptotic. */
  readonly method?: MannWhitneyMethod;
  /** Continuity correction of the normal approximation (default true, as scipy and R). */
  readonly continuity?: boolean;
}

export interface MannWhitneyResult {
  /** U of the first sample: pairs (x, y) with x > y, plus half the pairs with x = y. */
  readonly u: number;
  readonly n1: number;
  readonly n2: number;
  readonly alternative: MannWhitneyAlternative;
  readonly method: 'exact' | 'asymptotic';
  /** p-value; 1 when every observation is tied (no evidence either way). */
  readonly pValue: number;
  /** Standardized statistic of the normal approximation; null for the exact method. */
  readonly z: number | null;
  /** Whether any value occurs more than once in the pooled sample. */
  readonly ties: boolean;
}

function checkSample(values: readonly number[], name: string): void {
  values.forEach((v, i) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new RangeError(`${name}[${i}] must be a finite number, got ${String(v)}`);
    }
  });
}

/** Midranks (average ranks of tied values) of the pooled sample and the tie-group sizes. */
function midranks(pooled: readonly number[]): { ranks: number[]; groups: number[] } {
  const order = pooled.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const ranks = new Array<number>(pooled.length);
  const groups: number[] = [];
  let i = 0;
  while (i < order.length) {
    let j = i;
    while (
      j + 1 < order.length &&
      (order[j + 1] as readonly [number, number])[0] === (order[i] as readonly [number, number])[0]
    )
      j++;
    const r = (i + 1 + j + 1) / 2;
    for (let k = i; k <= j; k++) ranks[(order[k] as readonly [number, number])[1]] = r;
    groups.push(j - i + 1);
    i = j + 1;
  }
  return { ranks, groups };
}

/** Σ (t³ − t) over tie groups. */
const tieTerm = (groups: readonly number[]): number => groups.reduce((s, t) => s + (t * t * t - t), 0);

/** Tie-corrected standard deviation of U under H0. */
function sigmaU(n1: number, n2: number, groups: readonly number[]): number {
  const n = n1 + n2;
  const v = ((n1 * n2) / 12) * (n + 1 - tieTerm(groups) / (n * (n - 1)));
  return v > 0 ? Math.sqrt(v) : 0;
}

/**
 * Null distribution of twice the midrank sum of a size-`size` subset of the pooled midranks (all
 * C(n, size) subsets equally likely — the permutation distribution, ties included). Doubled
 * midranks are integers. Returns counts indexed by doubled sum, and their total.
 */
function rankSumDistribution(
  doubledRanks: readonly number[],
  size: number,
): { counts: Float64Array; total: number } {
  const maxSum = doubledRanks.reduce((s, r) => s + r, 0);
  // f[j * (maxSum + 1) + s] = number of j-subsets of the items seen so far with doubled sum s.
  const width = maxSum + 1;
  const f = new Float64Array((size + 1) * width);
  f[0] = 1;
  let seen = 0;
  let items = 0;
  for (const r of doubledRanks) {
    seen += r;
    items++;
    for (let j = Math.min(size, items); j >= 1; j--) {
      const dst = j * width;
      const src = (j - 1) * width;
      for (let s = Math.min(seen, maxSum); s >= r; s--) {
        const add = f[src + s - r] as number;
        if (add !== 0) f[dst + s] = (f[dst + s] as number) + add;
      }
    }
  }
  const counts = f.subarray(size * width, (size + 1) * width);
  let total = 0;
  for (const c of counts) total += c;
  return { counts, total };
}

/**
 * Mann-Whitney U test of the first sample (canary) against the second (stable).
 *
 * Exact method: the permutation distribution of the midrank sum over all C(n1+n2, n1) ways to
 * split the pooled values, computed by dynamic programming on doubled midranks, so ties are
 * exact (equals scipy.stats.permutation_test with the U statistic and all permutations;
 * without ties equals mannwhitneyu(method='exact')). One-sided p = P(U ≥ u) or P(U ≤ u);
 * two-sided p = min(1, 2 × the smaller tail).
 *
 * Asymptotic method: z = (U − n1·n2/2 ∓ 0.5) / σ with the tie-corrected
 * σ² = n1·n2/12 · ((n + 1) − Σ(t³ − t) / (n(n − 1))) — scipy's mannwhitneyu(method='asymptotic').
 *
 * Both samples must be non-empty arrays of finite numbers (remove NaN before; see gaugeCheck).
 */
export function mannWhitneyU(
  x: readonly number[],
  y: readonly number[],
  options: MannWhitneyOptions = {},
): MannWhitneyResult {
  checkSample(x, 'x');
  checkSample(y, 'y');
  if (x.length === 0 || y.length === 0) throw new RangeError('both samples must be non-empty');
  const alternative = options.alternative ?? 'two-sided';
  const continuity = options.continuity ?? true;
  const n1 = x.length;
  const n2 = y.length;
  const { ranks, groups } = midranks([...x, ...y]);
  const ties = groups.some((g) => g > 1);
  let r1 = 0;
  for (let i = 0; i < n1; i++) r1 += ranks[i] as number;
  const u = r1 - (n1 * (n1 + 1)) / 2;
  const method =
    options.method === undefined || options.method === 'auto'
      ? n1 + n2 <= EXACT_MAX_TOTAL
        ? 'exact'
        : 'asymptotic'
      : options.method;

  if (method === 'exact' && n1 + n2 > EXACT_HARD_LIMIT) {
    throw new RangeError(
      `exact method limited to n1 + n2 ≤ ${EXACT_HARD_LIMIT}, got ${n1 + n2}; use 'auto' or 'asymptotic'`,
    );
  }
  if (groups.length === 1) {
    // Every value tied: no ordering information at all.
    return { u, n1, n2, alternative, method, pValue: 1, z: null, ties };
  }

  if (method === 'exact') {
    // The DP runs over the smaller sample; the larger one's rank sum is the complement.
    const doubled = ranks.map((r) => Math.round(2 * r));
    const grand = doubled.reduce((a, b) => a + b, 0);
    const t = Math.round(2 * r1);
    const flip = n1 > n2;
    const { counts, total } = rankSumDistribution(doubled, flip ? n2 : n1);
    let le = 0;
    let ge = 0;
    for (let s = 0; s < counts.length; s++) {
      const c = counts[s] as number;
      if (c === 0) continue;
      const tx = flip ? grand - s : s;
      if (tx <= t) le += c;
      if (tx >= t) ge += c;
    }
    const pLess = le / total;
    const pGreater = ge / total;
    const p =
      alternative === 'greater'
        ? pGreater
        : alternative === 'less'
          ? pLess
          : Math.min(1, 2 * Math.min(pLess, pGreater));
    return { u, n1, n2, alternative, method, pValue: Math.min(1, p), z: null, ties };
  }

  const sigma = sigmaU(n1, n2, groups);
  const mu = (n1 * n2) / 2;
  const cc = continuity ? 0.5 : 0;
  let z: number;
  let p: number;
  if (alternative === 'greater') {
    z = (u - mu - cc) / sigma;
    p = normalCdf(-z);
  } else if (alternative === 'less') {
    z = (n1 * n2 - u - mu - cc) / sigma;
    p = normalCdf(-z);
  } else {
    z = (Math.max(u, n1 * n2 - u) - mu - cc) / sigma;
    p = 2 * normalCdf(-z);
  }
  return { u, n1, n2, alternative, method, pValue: Math.min(1, Math.max(0, p)), z, ties };
}

/** Exact null CDF of U without ties, P(U ≤ k), for sizes (m, n): counts by DP over U values. */
function exactUCdfNoTies(m: number, n: number): Float64Array {
  // Number of ways to obtain U = u with m and n items: classic recursion over the last item.
  const maxU = m * n;
  // prev[j][u] for j = 0..m with the current number of y items; build by adding y items.
  let table: Float64Array[] = Array.from({ length: m + 1 }, () => new Float64Array(maxU + 1));
  for (let j = 0; j <= m; j++) (table[j] as Float64Array)[0] = 1; // with 0 y's, U = 0
  for (let k = 1; k <= n; k++) {
    const next: Float64Array[] = Array.from({ length: m + 1 }, () => new Float64Array(maxU + 1));
    (next[0] as Float64Array)[0] = 1;
    for (let j = 1; j <= m; j++) {
      const nj = next[j] as Float64Array;
      const a = next[j - 1] as Float64Array; // largest item is an x: it beats all k y's
      const b = table[j] as Float64Array; // largest item is a y: adds nothing
      for (let uu = 0; uu <= j * k; uu++) {
        nj[uu] = (uu >= k ? (a[uu - k] as number) : 0) + (b[uu] as number);
      }
    }
    table = next;
  }
  const counts = table[m] as Float64Array;
  let total = 0;
  for (const c of counts) total += c;
  const cdf = new Float64Array(maxU + 1);
  let acc = 0;
  for (let uu = 0; uu <= maxU; uu++) {
    acc += counts[uu] as number;
    cdf[uu] = acc / total;
  }
  return cdf;
}

export type ShiftIntervalMethod = 'exact' | 'asymptotic';

export interface ShiftEstimate {
  /** Hodges–Lehmann estimate: median of all canary − stable pairwise differences. */
  readonly estimate: number;
  readonly lower: number;
  readonly upper: number;
  readonly confidence: number;
  readonly method: ShiftIntervalMethod;
}

export interface HodgesLehmannOptions {
  readonly confidence?: number;
  /**
   * `exact`: order statistics D_(k), D_(mn+1−k) of the sorted differences, k the smallest value
   * with P(U ≤ k) ≥ (1 − confidence)/2 under the exact no-ties null (R's exact `wilcox.test`;
   * k raised to 1 if 0). `asymptotic`: the interval of shifts Δ not rejected by the two-sided,
   * continuity- and tie-corrected normal test of (x − Δ, y) (R's `wilcox.test` with ties or
   * large samples, and Kayenta's MannWhitney), computed exactly rather than by a root solver.
   * `auto` (default): exact when n1 + n2 ≤ EXACT_MAX_TOTAL and no ties, else asymptotic.
   */
  readonly method?: ShiftIntervalMethod | 'auto';
}

/**
 * Hodges–Lehmann shift of the first sample (canary) relative to the second (stable), with a
 * confidence interval (see {@link HodgesLehmannOptions}). Both samples must be non-empty finite.
 * When all differences are equal (e.g. two constant series) estimate = lower = upper = that
 * difference; Kayenta adds tiny Gaussian noise in that case, whose limit this is.
 */
export function hodgesLehmann(
  x: readonly number[],
  y: readonly number[],
  options: HodgesLehmannOptions = {},
): ShiftEstimate {
  checkSample(x, 'x');
  checkSample(y, 'y');
  if (x.length === 0 || y.length === 0) throw new RangeError('both samples must be non-empty');
  const confidence = options.confidence ?? 0.95;
  if (!(confidence > 0 && confidence < 1))
    throw new RangeError(`confidence must be in (0, 1), got ${confidence}`);
  const m = x.length;
  const n = y.length;
  const mn = m * n;
  const diffs = new Float64Array(mn);
  let k = 0;
  for (const xi of x) for (const yj of y) diffs[k++] = xi - yj;
  diffs.sort();
  const at = (i: number): number => diffs[i] as number; // 0-based
  const estimate = mn % 2 === 1 ? at((mn - 1) / 2) : (at(mn / 2 - 1) + at(mn / 2)) / 2;
  const alpha = 1 - confidence;

  const { groups } = midranks([...x, ...y]);
  const ties = groups.some((g) => g > 1);
  const method: ShiftIntervalMethod =
    options.method === undefined || options.method === 'auto'
      ? m + n <= EXACT_MAX_TOTAL && !ties
        ? 'exact'
        : 'asymptotic'
      : options.method;

  if (method === 'exact') {
    if (m + n > EXACT_HARD_LIMIT) {
      throw new RangeError(
        `exact interval limited to n1 + n2 ≤ ${EXACT_HARD_LIMIT}, got ${m + n}; use 'auto' or 'asymptotic'`,
      );
    }
    const cdf = exactUCdfNoTies(m, n);
    let qu = 0;
    while (qu < mn && (cdf[qu] as number) < (alpha / 2) * (1 - 1e-12)) qu++;
    if (qu === 0) qu = 1;
    return { estimate, lower: at(qu - 1), upper: at(mn - qu), confidence, method };
  }

  // Asymptotic inversion. Between consecutive distinct differences d_i < d_{i+1} no canary value
  // ties a stable value, so U(Δ) = #{D > Δ} and σ uses the within-sample ties only; the
  // standardized statistic is a non-increasing step function of Δ and its crossings are
  // differences. R / Kayenta find the same crossings with a root solver.
  const within = [...midranks([...x]).groups, ...midranks([...y]).groups];
  const sigma = sigmaU(m, n, within);
  const distinct: number[] = [];
  const greaterThan: number[] = []; // #{D > d_i}
  for (let i = 0; i < mn; i++) {
    if (i + 1 < mn && at(i + 1) === at(i)) continue;
    distinct.push(at(i));
    greaterThan.push(mn - 1 - i);
  }
  const K = distinct.length;
  const stat = (i: number): number => {
    // Statistic on the open segment just above distinct[i].
    const dz = (greaterThan[i] as number) - mn / 2;
    return (dz - Math.sign(dz) * 0.5) / sigma;
  };
  const root = (zq: number): number => {
    if (K === 1 || sigma === 0) return distinct[0] as number;
    // First i with stat(i) − zq ≤ 0 (stat is non-increasing in i): binary search.
    let lo = 0;
    let hi = K - 1;
    if (stat(hi) - zq > 0) return distinct[K - 1] as number;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (stat(mid) - zq <= 0) hi = mid;
      else lo = mid + 1;
    }
    return distinct[lo] as number;
  };
  const z = normalQuantile(1 - alpha / 2);
  return { estimate, lower: root(z), upper: root(-z), confidence, method };
}

// ---------------------------------------------------------------------------------------------
// The verdict for a gauge check.

/** Which change of the metric is bad. */
export type GaugeDirection = 'increase' | 'decrease' | 'either';

/** Kayenta's metric classification labels (the ones its Mann-Whitney classifier produces). */
export type KayentaLabel = 'High' | 'Low' | 'Pass' | 'Nodata';

export interface GaugeCheckOptions {
  /** Which change is bad. Default `increase` (CPU, memory, latency-like gauges). */
  readonly direction?: GaugeDirection;
  /**
   * `test` (default): Fail when a one-sided Mann-Whitney test rejects "canary shifted by at most
   * margin × |median(stable)| in the bad direction" at level α (two tests at α/2 for `either`).
   * `kayenta`: Kayenta's NetflixACAJudge classifier (see {@link gaugeCheck}).
   */
  readonly rule?: 'test' | 'kayenta';
  /** Level of the `test` rule. Default 0.01 (use the scorecard's alphaForCheck). */
  readonly alpha?: number;
  /** Relative margin of the `test` rule, as a fraction of |median(stable)|. Default 0. */
  readonly margin?: number;
  /** Confidence of the `kayenta` rule's interval. Default 0.98 (NetflixACAJudge). */
  readonly confidence?: number;
  /** Kayenta's tolerance: the interval must clear ± tolerance × |estimate|. Default 0.25. */
  readonly tolerance?: number;
  /**
   * Kayenta's effect-size thresholds on mean(canary) / mean(stable): High needs ratio ≥ high,
   * Low needs ratio ≤ low. Default { low: 1, high: 1 }.
   */
  readonly effectSize?: { readonly low: number; readonly high: number };
  /** Points needed on each side (after NaN removal) before anything but Inconclusive. Default 10. */
  readonly minSamples?: number;
  /** `remove` (default, Kayenta's NaN strategy): drop NaN points; `refuse`: any NaN → invalid_data. */
  readonly nan?: 'remove' | 'refuse';
}

export interface GaugeSide {
  readonly n: number;
  readonly mean: number | null;
  readonly median: number | null;
}

export interface GaugeCheckResult {
  readonly verdict: Verdict;
  readonly reason: Reason;
  readonly rule: 'test' | 'kayenta';
  /** Kayenta's label for the same data (computed for both rules; Nodata when a side is empty). */
  readonly label: KayentaLabel;
  readonly canary: GaugeSide;
  readonly stable: GaugeSide;
  /** Hodges–Lehmann shift canary − stable with its interval; null without data. */
  readonly shift: ShiftEstimate | null;
  /** mean(canary) / mean(stable) (Kayenta's effect size; 1 when the stable mean is 0). */
  readonly meanRatio: number | null;
  /** The `test` rule's p-value (the smaller of the two for `either`); null otherwise. */
  readonly pValue: number | null;
  /** The level the p-value is compared with (`test` rule: α, or α/2 per side for `either`). */
  readonly alpha: number | null;
  /** Smallest p-value these sample sizes can produce; if > alpha the test could never Fail. */
  readonly minAttainablePValue: number | null;
}

const mean = (v: readonly number[]): number => v.reduce((s, a) => s + a, 0) / v.length;
function median(v: readonly number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 === 1 ? (s[h] as number) : ((s[h - 1] as number) + (s[h] as number)) / 2;
}
const side = (v: readonly number[]): GaugeSide =>
  v.length === 0 ? { n: 0, mean: null, median: null } : { n: v.length, mean: mean(v), median: median(v) };

/** log C(n, k) by summing logs (n is a sample size here, small). */
function logChoose(n: number, k: number): number {
  let s = 0;
  for (let i = 1; i <= k; i++) s += Math.log((n - k + i) / i);
  return s;
}

/** Kayenta's label (MannWhitneyClassifier semantics) for non-empty, NaN-free samples. */
function kayentaLabel(
  canary: readonly number[],
  stable: readonly number[],
  direction: GaugeDirection,
  confidence: number,
  tolerance: number,
  effectSize: { low: number; high: number },
): { label: KayentaLabel; shift: ShiftEstimate } {
  const shift = hodgesLehmann(canary, stable, { confidence, method: 'asymptotic' });
  const sortedC = [...canary].sort((a, b) => a - b);
  const sortedS = [...stable].sort((a, b) => a - b);
  // Identical data, or a single distinct value overall: Pass before any statistics.
  if (sortedC.length === sortedS.length && sortedC.every((v, i) => v === sortedS[i]))
    return { label: 'Pass', shift };
  if (
    sortedC[0] === sortedC[sortedC.length - 1] &&
    sortedS[0] === sortedS[sortedS.length - 1] &&
    sortedC[0] === sortedS[0]
  ) {
    return { label: 'Pass', shift };
  }
  const ms = mean(stable);
  const ratio = ms === 0 ? 1 : mean(canary) / ms;
  const bound = tolerance * Math.abs(shift.estimate);
  if (
    (direction === 'increase' || direction === 'either') &&
    shift.lower > bound &&
    ratio >= effectSize.high
  ) {
    return { label: 'High', shift };
  }
  if (
    (direction === 'decrease' || direction === 'either') &&
    shift.upper < -bound &&
    ratio <= effectSize.low
  ) {
    return { label: 'Low', shift };
  }
  return { label: 'Pass', shift };
}

/**
 * The verdict of a gauge check: canary points vs stable points (one value per interval).
 *
 * Edge cases first, never a Pass: an infinite value → Inconclusive `invalid_data` (NaN too
 * under `nan: 'refuse'`; by default NaN points are dropped as Kayenta does); an empty side →
 * Inconclusive `no_canary_traffic` / `no_stable_traffic` (label Nodata); fewer than
 * `minSamples` points on a side → Inconclusive `insufficient_data`.
 *
 * `test` rule (default): with δ = margin × |median(stable)|, the null is "canary is shifted by
 * at most δ in the bad direction"; Mann-Whitney (exact with ties when n1 + n2 ≤ 60) compares
 * canary − δ with stable (for `decrease`, canary + δ, alternative less). Fail when p ≤ α (for
 * `either`, either one-sided test at α/2). Pass otherwise — but only when the samples could have
 * produced p ≤ α at all (the most extreme split has probability 1 / C(n1+n2, n1)); if not,
 * Inconclusive `insufficient_data`.
 *
 * `kayenta` rule: Kayenta's NetflixACAJudge MannWhitneyClassifier — identical samples, or one
 * distinct value overall → Pass; the asymptotic Hodges–Lehmann interval at `confidence`
 * (0.98 in NetflixACAJudge); High when direction allows increases, the interval's lower bound
 * > tolerance × |estimate| and mean ratio ≥ effectSize.high; Low symmetrically (upper bound
 * < −tolerance × |estimate|, ratio ≤ effectSize.low); else Pass. High/Low map to Fail
 * (`regression_detected`), Pass to Pass (`no_regression`), Nodata to Inconclusive. Not
 * reproduced: NetflixACAJudge's IQR outlier removal before classifying, and its noise for
 * constant series (this uses the noise-free limit). Kayenta's estimate is a root-solver point
 * of the z statistic, which can differ from the Hodges–Lehmann median used here when the
 * statistic is flat over a range.
 */
export function gaugeCheck(
  canaryRaw: readonly number[],
  stableRaw: readonly number[],
  options: GaugeCheckOptions = {},
): GaugeCheckResult {
  const direction = options.direction ?? 'increase';
  const rule = options.rule ?? 'test';
  const alpha = options.alpha ?? 0.01;
  const margin = options.margin ?? 0;
  const confidence = options.confidence ?? 0.98;
  const tolerance = options.tolerance ?? 0.25;
  const effectSize = options.effectSize ?? { low: 1, high: 1 };
  const minSamples = options.minSamples ?? 10;
  const nan = options.nan ?? 'remove';
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`alpha must be in (0, 1), got ${alpha}`);
  if (!(margin >= 0 && Number.isFinite(margin))) throw new RangeError(`margin must be ≥ 0, got ${margin}`);
  if (!(confidence > 0 && confidence < 1))
    throw new RangeError(`confidence must be in (0, 1), got ${confidence}`);
  if (!(tolerance >= 0 && Number.isFinite(tolerance)))
    throw new RangeError(`tolerance must be ≥ 0, got ${tolerance}`);
  if (!Number.isInteger(minSamples) || minSamples < 1)
    throw new RangeError(`minSamples must be an integer ≥ 1, got ${minSamples}`);

  const perTest = direction === 'either' ? alpha / 2 : alpha;
  const base = {
    rule,
    shift: null,
    meanRatio: null,
    pValue: null,
    alpha: rule === 'test' ? perTest : null,
    minAttainablePValue: null,
  } as const;
  const invalid = (values: readonly number[]): boolean =>
    values.some((v) => typeof v !== 'number' || (Number.isNaN(v) ? nan === 'refuse' : !Number.isFinite(v)));
  if (invalid(canaryRaw) || invalid(stableRaw)) {
    return {
      ...base,
      verdict: 'Inconclusive',
      reason: 'invalid_data',
      label: 'Nodata',
      canary: { n: canaryRaw.length, mean: null, median: null },
      stable: { n: stableRaw.length, mean: null, median: null },
    };
  }
  const canary = canaryRaw.filter((v) => !Number.isNaN(v));
  const stable = stableRaw.filter((v) => !Number.isNaN(v));
  const c = side(canary);
  const s = side(stable);
  if (canary.length === 0 || stable.length === 0) {
    const reason: Reason = canary.length === 0 ? 'no_canary_traffic' : 'no_stable_traffic';
    return { ...base, verdict: 'Inconclusive', reason, label: 'Nodata', canary: c, stable: s };
  }

  const k = kayentaLabel(canary, stable, direction, confidence, tolerance, effectSize);
  const ms = s.mean as number;
  const meanRatio = ms === 0 ? 1 : (c.mean as number) / ms;
  const enough = canary.length >= minSamples && stable.length >= minSamples;

  if (rule === 'kayenta') {
    const shift = k.shift;
    const common = { ...base, label: k.label, canary: c, stable: s, shift, meanRatio };
    if (!enough) return { ...common, verdict: 'Inconclusive', reason: 'insufficient_data' };
    if (k.label === 'High' || k.label === 'Low')
      return { ...common, verdict: 'Fail', reason: 'regression_detected' };
    return { ...common, verdict: 'Pass', reason: 'no_regression' };
  }

  const shift = hodgesLehmann(canary, stable, { confidence: 1 - alpha });
  const delta = margin * Math.abs(s.median as number);
  const pUp = (): number =>
    mannWhitneyU(
      canary.map((v) => v - delta),
      stable,
      { alternative: 'greater' },
    ).pValue;
  const pDown = (): number =>
    mannWhitneyU(
      canary.map((v) => v + delta),
      stable,
      { alternative: 'less' },
    ).pValue;
  const p = direction === 'increase' ? pUp() : direction === 'decrease' ? pDown() : Math.min(pUp(), pDown());
  const minAttainablePValue = Math.exp(-logChoose(canary.length + stable.length, canary.length));
  const common = {
    ...base,
    label: k.label,
    canary: c,
    stable: s,
    shift,
    meanRatio,
    pValue: p,
    minAttainablePValue,
  };
  if (!enough) return { ...common, verdict: 'Inconclusive', reason: 'insufficient_data' };
  if (p <= perTest) return { ...common, verdict: 'Fail', reason: 'regression_detected' };
  if (minAttainablePValue > perTest)
    return { ...common, verdict: 'Inconclusive', reason: 'insufficient_data' };
  return { ...common, verdict: 'Pass', reason: 'no_regression' };
}

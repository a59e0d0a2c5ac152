/**
 * Simulated gauge pairs (canary and stable, one value per interval) and a judge that looks at
 * every interval, for the gauge test's false-rollback rate and power (bench/gauge-simulation.ts,
 * test/unit/stats/gauge-test.test.ts).
 *
 * Every shape is built so that the true median degradation of the pairing is exactly `effect`
 * (relative shapes: the canary is the stable's distribution times 1 + effect; the absolute shape:
 * plus effect), so effect = tolerance is the least favourable null.
 */
import { decideGauge, type GaugeTestParams } from '../../src/stats/gauge-test.js';
import type { Rng } from '../../test/support/random.js';

export type NoiseShape =
  /** 100 × (1 + 0.1 z), independent per side and interval. */
  | 'gaussian'
  /** 100 × exp(0.5 z): skewed, heavy right tail (the 99th percentile is 3.2× the median). */
  | 'lognormal'
  /** 100 + 10 t₂ (Student t, 2 degrees of freedom: infinite variance); absolute scale. */
  | 'student-t2'
  /** Shared load: both sides × exp(0.3 a_i), a an AR(1) with ρ 0.9, then independent 10 % noise. */
  | 'common-ar1'
  /** Each side's own 10 % noise is an AR(1) with ρ 0.5 (outside the method's assumption). */
  | 'ar1-0.5'
  /** As ar1-0.5 with ρ 0.8. */
  | 'ar1-0.8'
  /** ar1-0.8 judged on a 5× longer interval: each value is the mean of 5 of its intervals. */
  | 'ar1-0.8-step5';

export const NOISE_SHAPES: readonly NoiseShape[] = [
  'gaussian',
  'lognormal',
  'student-t2',
  'common-ar1',
  'ar1-0.5',
  'ar1-0.8',
  'ar1-0.8-step5',
];

/** Whether a shape's degradation is stated in the gauge's unit (absolute) or relative. */
export const shapeScale = (shape: NoiseShape): 'relative' | 'absolute' =>
  shape === 'student-t2' ? 'absolute' : 'relative';

function studentT2(rng: Rng): number {
  // t₂ = Z / sqrt(χ²₂ / 2), χ²₂ = −2 log U.
  const z = rng.normal();
  return z / Math.sqrt(-Math.log(rng.uniform()));
}

/** A stationary AR(1) with unit marginal variance. */
function ar1(rng: Rng, n: number, rho: number): number[] {
  const out: number[] = [];
  let x = rng.normal();
  for (let i = 0; i < n; i++) {
    out.push(x);
    x = rho * x + Math.sqrt(1 - rho * rho) * rng.normal();
  }
  return out;
}

/** `n` intervals of both sides; the canary's median degradation is `effect`. */
export function simulateGauge(
  rng: Rng,
  shape: NoiseShape,
  effect: number,
  n: number,
): { canary: number[]; stable: number[] } {
  const canary: number[] = [];
  const stable: number[] = [];
  const k = 1 + effect;
  switch (shape) {
    case 'gaussian':
      for (let i = 0; i < n; i++) {
        stable.push(100 * (1 + 0.1 * rng.normal()));
        canary.push(k * 100 * (1 + 0.1 * rng.normal()));
      }
      break;
    case 'lognormal':
      for (let i = 0; i < n; i++) {
        stable.push(100 * Math.exp(0.5 * rng.normal()));
        canary.push(k * 100 * Math.exp(0.5 * rng.normal()));
      }
      break;
    case 'student-t2':
      for (let i = 0; i < n; i++) {
        stable.push(100 + 10 * studentT2(rng));
        canary.push(100 + effect + 10 * studentT2(rng));
      }
      break;
    case 'common-ar1': {
      const load = ar1(rng, n, 0.9);
      for (let i = 0; i < n; i++) {
        const l = Math.exp(0.3 * (load[i] as number));
        stable.push(100 * l * (1 + 0.1 * rng.normal()));
        canary.push(k * 100 * l * (1 + 0.1 * rng.normal()));
      }
      break;
    }
    case 'ar1-0.5':
    case 'ar1-0.8': {
      const rho = shape === 'ar1-0.5' ? 0.5 : 0.8;
      const s = ar1(rng, n, rho);
      const c = ar1(rng, n, rho);
      for (let i = 0; i < n; i++) {
        stable.push(100 * (1 + 0.1 * (s[i] as number)));
        canary.push(k * 100 * (1 + 0.1 * (c[i] as number)));
      }
      break;
    }
    case 'ar1-0.8-step5': {
      const fine = simulateGauge(rng, 'ar1-0.8', effect, 5 * n);
      const mean = (xs: readonly number[], i: number): number =>
        xs.slice(5 * i, 5 * i + 5).reduce((a, b) => a + b, 0) / 5;
      for (let i = 0; i < n; i++) {
        stable.push(mean(fine.stable, i));
        canary.push(mean(fine.canary, i));
      }
      break;
    }
  }
  return { canary, stable };
}

export interface LookOutcome {
  /** First look (1-based interval count) whose verdict was Fail; null if none within the run. */
  readonly firstFail: number | null;
  /** First look whose verdict was Pass; null if none. */
  readonly firstPass: number | null;
}

/**
 * The judge looking after every interval: decideGauge on the history so far, as the service
 * recomputes it on every call. The run stops at the first Fail (the rollout is rolled back);
 * a Pass does not stop it (later steps look again). This is the literal loop; see
 * {@link lookEveryInterval} for the same answer in fewer calls.
 */
export function lookEveryIntervalNaive(
  canary: readonly number[],
  stable: readonly number[],
  params: GaugeTestParams,
): LookOutcome {
  let firstPass: number | null = null;
  for (let t = 1; t <= canary.length; t++) {
    const r = decideGauge(canary.slice(0, t), stable.slice(0, t), params, { bounds: false });
    if (r.verdict === 'Fail') return { firstFail: t, firstPass };
    if (r.verdict === 'Pass' && firstPass === null) firstPass = t;
  }
  return { firstFail: null, firstPass };
}

/**
 * The same outcome as {@link lookEveryIntervalNaive} with O(log n) calls: both decisions use the
 * running maximum of their e-process, so on complete data the verdicts over the looks run
 * Inconclusive…, then possibly Pass…, then possibly Fail… (a Fail stays; a Pass stays unless it
 * turns into a Fail). "Fail" and "not Inconclusive" are then monotone in the look, and a binary
 * search finds where each starts. test/unit/stats/gauge-test.test.ts checks the two agree.
 */
export function lookEveryInterval(
  canary: readonly number[],
  stable: readonly number[],
  params: GaugeTestParams,
): LookOutcome {
  const verdict = (t: number) =>
    decideGauge(canary.slice(0, t), stable.slice(0, t), params, { bounds: false }).verdict;
  const first = (holds: (t: number) => boolean): number | null => {
    const n = canary.length;
    if (n === 0 || !holds(n)) return null;
    let lo = 1;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (holds(mid)) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  };
  const firstFail = first((t) => verdict(t) === 'Fail');
  const decided = first((t) => verdict(t) !== 'Inconclusive');
  const firstPass = decided !== null && decided !== firstFail ? decided : null;
  return { firstFail, firstPass };
}

// How often the end-to-end scenarios' verdicts go the other way by chance: the shipped plan as the
// overlay runs it (gates at 1%, 5%, 50% with the Rollout's per-step critical-effect and
// critical-increase, 10-second looks, at most 9 per gate, 10 s pauses at 10% and 25%), judged by
// the judge's own count tests (both checks, α split between them, latency on the two bucket edges
// of the default shape) on Poisson traffic at the scenarios' rates. The README's "Known limits"
// figures come from here.
//
//   npx tsx test/e2e/plan-sim.ts [--runs 3000] [--seed 11] [--rps 4000]
//       [--canary-errors 0.001] [--stable-errors 0.001] [--canary-slow100 0.0634] [--canary-slow250 0.00113]
//
// Prints the outcomes: promoted, fail@<weight> (which check) or inconclusive@<weight> (why).
// The background guard is taken to fail exactly when a gate's test would: the Fail side of the
// test does not depend on the step's tolerance. It looks once per 10 s pause as well.
import { decideThresholds, type CountTestParams, type IntervalCounts } from '../../src/stats/index.js';
import { rng } from '../support/random.js';
import { REALISTIC } from './lib/shape.js';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

// Shares of the default shape's requests slower than 100 ms and 250 ms (log-normal, median 40 ms, σ 0.6).
const STABLE_SLOW_100 = 0.06336;
const STABLE_SLOW_250 = 0.001128;

const runs = flag('runs', 3000);
const random = rng(flag('seed', 11));
const rps = flag('rps', 4000);
const canaryErrors = flag('canary-errors', REALISTIC.errorRate);
const stableErrors = flag('stable-errors', REALISTIC.errorRate);
const canarySlow100 = flag('canary-slow100', STABLE_SLOW_100);
const canarySlow250 = flag('canary-slow250', STABLE_SLOW_250);

const PLAN: readonly { weight: number; gate?: { criticalEffect: number; criticalIncrease: number } }[] = [
  { weight: 1, gate: { criticalEffect: 5, criticalIncrease: 0.01 } },
  { weight: 5, gate: { criticalEffect: 3, criticalIncrease: 0.005 } },
  { weight: 10 },
  { weight: 25 },
  { weight: 50, gate: { criticalEffect: 1.5, criticalIncrease: 0.001 } },
];
const LOOK_SECONDS = 10;
const MAX_LOOKS = 9;
const PAUSE_LOOKS = 1; // a 10 s pause

function normal(): number {
  return Math.sqrt(-2 * Math.log(Math.max(random(), 1e-12))) * Math.cos(2 * Math.PI * random());
}
function poisson(lambda: number): number {
  if (lambda <= 0) return 0;
  if (lambda > 50) return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * normal()));
  const l = Math.exp(-lambda);
  let k = 0;
  let p = 1;
  do {
    k++;
    p *= random();
  } while (p > l);
  return k - 1;
}
function binomial(n: number, p: number): number {
  if (n * p > 30) return Math.max(0, Math.min(n, Math.round(n * p + Math.sqrt(n * p * (1 - p)) * normal())));
  let k = 0;
  for (let i = 0; i < n; i++) if (random() < p) k++;
  return k;
}

const outcomes = new Map<string, number>();
for (let run = 0; run < runs; run++) {
  const errors: IntervalCounts[] = [];
  const over100: IntervalCounts[] = [];
  const over250: IntervalCounts[] = [];
  const look = (weight: number): void => {
    const nc = poisson((rps * weight * LOOK_SECONDS) / 100);
    const ns = poisson((rps * (100 - weight) * LOOK_SECONDS) / 100);
    errors.push({
      canaryTotal: nc,
      canaryBad: binomial(nc, canaryErrors),
      stableTotal: ns,
      stableBad: binomial(ns, stableErrors),
    });
    const c100 = binomial(nc, canarySlow100);
    const s100 = binomial(ns, STABLE_SLOW_100);
    over100.push({ canaryTotal: nc, canaryBad: c100, stableTotal: ns, stableBad: s100 });
    over250.push({
      canaryTotal: nc,
      canaryBad: binomial(c100, canarySlow250 / canarySlow100),
      stableTotal: ns,
      stableBad: binomial(s100, STABLE_SLOW_250 / STABLE_SLOW_100),
    });
  };
  let outcome = 'promoted';
  plan: for (const step of PLAN) {
    if (step.gate === undefined) {
      for (let i = 0; i < PAUSE_LOOKS; i++) {
        look(step.weight);
        // The guard's look during a pause (its Fail does not depend on the tolerance).
        const guard = { alpha: 0.005, margin: 0, power: 0.8, criticalEffect: 1.5, criticalIncrease: 0 };
        const e = decideThresholds([errors], guard);
        const l = decideThresholds([over100, over250], guard);
        if (e.verdict === 'Fail' || l.verdict === 'Fail') {
          outcome = `fail@${step.weight}% (${[e.verdict === 'Fail' ? 'error-rate' : '', l.verdict === 'Fail' ? 'latency' : ''].filter(Boolean).join('+')})`;
          break plan;
        }
      }
      continue;
    }
    // The scorecard's α 0.01 split between its two checks.
    const params: CountTestParams = { alpha: 0.005, margin: 0, power: 0.8, ...step.gate };
    let why = '';
    for (let i = 0; i < MAX_LOOKS; i++) {
      look(step.weight);
      const e = decideThresholds([errors], params);
      const l = decideThresholds([over100, over250], params);
      if (e.verdict === 'Fail' || l.verdict === 'Fail') {
        outcome = `fail@${step.weight}% (${[e.verdict === 'Fail' ? 'error-rate' : '', l.verdict === 'Fail' ? 'latency' : ''].filter(Boolean).join('+')})`;
        break plan;
      }
      if (e.verdict === 'Pass' && l.verdict === 'Pass') {
        why = '';
        break;
      }
      why = [
        e.verdict === 'Pass' ? '' : `error-rate ${e.reason}`,
        l.verdict === 'Pass' ? '' : `latency ${l.reason}`,
      ]
        .filter(Boolean)
        .join(', ');
    }
    if (why !== '') {
      outcome = `inconclusive@${step.weight}% (${why})`;
      break;
    }
  }
  outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
}
console.log(
  `${runs} runs at ${rps} requests/s, canary errors ${canaryErrors}, stable errors ${stableErrors}, canary slow ${canarySlow100} / ${canarySlow250}`,
);
for (const [k, n] of [...outcomes].sort((a, b) => b[1] - a[1]))
  console.log(`  ${k.padEnd(60)} ${String(n).padStart(5)}  ${((100 * n) / runs).toFixed(2)}%`);

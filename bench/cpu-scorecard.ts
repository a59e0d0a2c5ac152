/**
 * CPU cost of the statistics of one scorecard analysis, as the judge runs it per measurement:
 * the error-rate and latency checks' evaluation (Prometheus series → per-interval counts → the
 * count test, latency on two bucket edges, the floor, the time-to-settle estimate) over a
 * 60-minute history at 1-minute resolution, with Istio's default buckets. No network, no JSON:
 * what the engine adds to the service's own overhead (bench/service/README.md).
 *
 *   npx tsx bench/cpu-scorecard.ts [--runs 5000] [--seed 1]
 *
 * Prints the median and p90 wall time per analysis and the process CPU per analysis, for an
 * identical release (mostly Inconclusive early, then Pass: the estimate of the time to settle
 * runs on every Inconclusive look) and for a clean service (no errors: the floor decides).
 */
import { parseArgs } from 'node:util';
import { evaluateErrorRate } from '../src/judge/checks/error-rate.js';
import { evaluateLatency } from '../src/judge/checks/latency.js';
import type { CheckParams } from '../src/judge/types.js';
import type { Series } from '../src/judge/metrics-source.js';
import { Rng } from '../test/support/random.js';

const { values: flags } = parseArgs({
  options: { runs: { type: 'string', default: '5000' }, seed: { type: 'string', default: '1' } },
});
const runs = Number(flags.runs);
const seed = Number(flags.seed);

const BUCKETS = [
  0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000,
  3600000,
];
const Z = (x: number): number => 0.5 * (1 + erf(x / Math.SQRT2));
function erf(x: number): number {
  // Abramowitz–Stegun 7.1.26: enough to shape a synthetic histogram.
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const y =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) *
      t *
      Math.exp(-x * x);
  return x >= 0 ? y : -y;
}
/** Probability of each bucket (then +Inf) for log-normal latency, median 40 ms, σ 0.6. */
const P = [...BUCKETS.map((le) => Z(Math.log(le / 40) / 0.6)), 1].map(
  (c, i, a) => c - (i === 0 ? 0 : (a[i - 1] as number)),
);

const params: CheckParams = {
  alpha: 0.005,
  margin: 0,
  criticalEffect: 1.5,
  power: 0.8,
  criticalIncrease: 0.001,
  weight: 1,
  critical: true,
};

interface History {
  readonly errors: {
    canaryRequests: Series[];
    canaryErrors: Series[];
    stableRequests: Series[];
    stableErrors: Series[];
  };
  readonly latency: { canaryBuckets: Series[]; stableBuckets: Series[]; stableBaseline: Series[] };
}

function history(rng: Rng, pError: number): History {
  const weights = [0.01, 0.05, 0.1, 0.25, 0.5, 0.5];
  const one = (): { v: number[]; b: number[][] } => ({ v: [], b: [] });
  const c = one();
  const s = one();
  const ce: number[] = [];
  const se: number[] = [];
  for (let t = 0; t < 60; t++) {
    const w = weights[Math.floor(t / 10)] as number;
    for (const [side, share, errs] of [
      [c, w, ce],
      [s, 1 - w, se],
    ] as const) {
      const counts = P.map((p) => rng.poisson(6000 * share * p));
      let cum = 0;
      side.b.push(counts.map((n) => (cum += n)));
      side.v.push(cum + rng.uniform()); // fractional, like increase()
      errs.push(rng.binomial(cum, pError));
    }
  }
  const times = Array.from({ length: 60 }, (_, t) => 1_800_000_000 + 60 * (t + 1));
  const series = (v: number[]): Series[] => [
    { labels: {}, samples: v.map((x, t) => ({ t: times[t] as number, v: x })) },
  ];
  const buckets = (b: number[][]): Series[] =>
    [...BUCKETS.map(String), '+Inf'].map((le, i) => ({
      labels: { le },
      samples: b.map((row, t) => ({ t: times[t] as number, v: row[i] as number })),
    }));
  const baseline = [...BUCKETS.map(String), '+Inf'].map((le, i) => ({
    labels: { le },
    samples: [{ t: 1_800_000_000, v: 360_000 * P.slice(0, i + 1).reduce((a, b) => a + b, 0) }],
  }));
  return {
    errors: {
      canaryRequests: series(c.v),
      canaryErrors: series(ce),
      stableRequests: series(s.v),
      stableErrors: series(se),
    },
    latency: { canaryBuckets: buckets(c.b), stableBuckets: buckets(s.b), stableBaseline: baseline },
  };
}

function measure(name: string, pError: number): void {
  const rng = new Rng(seed, Math.round(pError * 1e6) + 7);
  const histories = Array.from({ length: 32 }, () => history(rng, pError));
  const verdicts = new Map<string, number>();
  const once = (h: History): string => {
    const e = evaluateErrorRate(h.errors, params);
    const l = evaluateLatency(h.latency, { quantile: 0.99 }, params, 'milliseconds');
    return `${e.verdict}/${l.result.verdict}`;
  };
  for (let i = 0; i < 500; i++) once(histories[i % 32] as History); // warm-up
  const times: number[] = [];
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    const v = once(histories[i % 32] as History);
    times.push(Number(process.hrtime.bigint() - t0) / 1000);
    verdicts.set(v, (verdicts.get(v) ?? 0) + 1);
  }
  const cpu = process.cpuUsage(cpu0);
  times.sort((a, b) => a - b);
  const median = times[Math.floor(runs / 2)] as number;
  const p90 = times[Math.floor(runs * 0.9)] as number;
  console.log(
    `| ${name} | ${median.toFixed(0)} µs | ${p90.toFixed(0)} µs | ${((cpu.user + cpu.system) / runs).toFixed(0)} µs | ${[...verdicts.entries()].map(([k, n]) => `${k} ${n}`).join(', ')} |`,
  );
}

console.log(
  `Command: \`npx tsx bench/cpu-scorecard.ts --runs ${runs} --seed ${seed}\`, Node ${process.version}; 60 one-minute intervals, error rate + latency (p99, two edges), 50% gate parameters.\n`,
);
console.log(
  '| history | median wall | p90 wall | process CPU per analysis | verdicts (error-rate/latency) |\n|---|---:|---:|---:|---|',
);
measure('identical release, 0.1% errors', 0.001);
measure('clean service, no errors', 0);

/**
 * The count test's numbers against values computed independently with scipy / statsmodels
 * (scripts/fixtures/count_reference.py → test/fixtures/stats/count-reference/).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decideCounts } from '../../../src/stats/count-test.js';
import { clopperPearson, rateRatio } from '../../../src/stats/effect.js';
import { countTestPower } from '../../../src/stats/power.js';
import { runEProcess, type MixtureComponent } from '../../../src/stats/sequential.js';
import {
  betaQuantile,
  normalCdf,
  normalQuantile,
  regularizedIncompleteBeta,
} from '../../../src/stats/special-functions.js';
import type { IntervalCounts } from '../../../src/stats/types.js';

interface Case {
  name: string;
  margin: number;
  intervals: IntervalCounts[];
  logE: number[];
  logFinal: number;
  logMax: number;
  pValue: number;
  power: Record<string, number>;
  effect95: { ratio: number | null; lower: number | null; upper: number | null };
}
interface Fixture {
  alpha: number;
  mixture: MixtureComponent[];
  cases: Case[];
  normalCdf: { z: number; cdf: number }[];
  normalQuantile: { p: number; quantile: number }[];
  betaCdf: { x: number; a: number; b: number; cdf: number }[];
  betaQuantile: { p: number; a: number; b: number; quantile: number }[];
  clopperPearson: { x: number; n: number; confidence: number; lower: number; upper: number }[];
}

const fixture = JSON.parse(
  readFileSync(new URL('../../fixtures/stats/count-reference/count-reference.json', import.meta.url), 'utf8'),
) as Fixture;

function close(actual: number | null, expected: number | null, rel: number, abs = 0): void {
  if (expected === null) {
    expect(actual).toBeNull();
    return;
  }
  expect(actual).not.toBeNull();
  expect(Math.abs((actual as number) - expected)).toBeLessThanOrEqual(
    Math.max(abs, rel * Math.abs(expected)),
  );
}

describe('special functions match scipy', () => {
  it('normal CDF to 1e-12 relative', () => {
    for (const r of fixture.normalCdf) close(normalCdf(r.z), r.cdf, 1e-12, 1e-300);
  });
  it('normal quantile to 1e-12 relative', () => {
    for (const r of fixture.normalQuantile) close(normalQuantile(r.p), r.quantile, 1e-12);
  });
  it('regularized incomplete beta to 1e-11 relative', () => {
    for (const r of fixture.betaCdf) close(regularizedIncompleteBeta(r.x, r.a, r.b), r.cdf, 1e-11, 1e-300);
  });
  it('beta quantile to 1e-10 relative', () => {
    for (const r of fixture.betaQuantile) close(betaQuantile(r.p, r.a, r.b), r.quantile, 1e-10, 1e-300);
  });
});

describe('Clopper–Pearson intervals match statsmodels (beta method)', () => {
  it.each(fixture.clopperPearson)('x=$x n=$n', (r) => {
    const ci = clopperPearson(r.x, r.n, r.confidence);
    close(ci.lower, r.lower, 1e-9, 1e-15);
    close(ci.upper, r.upper, 1e-9, 1e-15);
  });
});

describe('e-process, power and effect match the independent computation', () => {
  it.each(fixture.cases)('$name', (c) => {
    const theta0 = 1 + c.margin;
    const trace = runEProcess(c.intervals, theta0, fixture.mixture);
    expect(trace.logE).toHaveLength(c.logE.length);
    trace.logE.forEach((v, i) => close(v, c.logE[i] as number, 1e-9, 1e-9));
    close(trace.logMax, c.logMax, 1e-9, 1e-9);
    for (const [crit, p] of Object.entries(c.power)) {
      close(
        countTestPower(c.intervals, theta0, Number(crit), fixture.alpha, fixture.mixture),
        p,
        1e-9,
        1e-12,
      );
    }
    const nc = c.intervals.reduce((s, v) => s + v.canaryTotal, 0);
    const ns = c.intervals.reduce((s, v) => s + v.stableTotal, 0);
    const xc = c.intervals.reduce((s, v) => s + Math.min(v.canaryBad, v.canaryTotal), 0);
    const xs = c.intervals.reduce((s, v) => s + Math.min(v.stableBad, v.stableTotal), 0);
    const eff = rateRatio({ canaryTotal: nc, canaryBad: xc, stableTotal: ns, stableBad: xs }, 0.95);
    close(eff.ratio, c.effect95.ratio, 1e-12);
    close(eff.lower, c.effect95.lower, 1e-8, 1e-12);
    close(eff.upper, c.effect95.upper, 1e-8, 1e-12);

    // And end to end through decideCounts, with the fixture's mixture.
    const r = decideCounts(
      c.intervals,
      { alpha: fixture.alpha, margin: c.margin, criticalEffect: 2, power: 0.8 },
      { mixture: fixture.mixture },
    );
    close(r.evidence.pValue, c.pValue, 1e-9, 1e-300);
    expect(r.verdict === 'Fail').toBe(c.logMax >= Math.log(1 / fixture.alpha));
  });
});

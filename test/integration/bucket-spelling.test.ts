/**
 * A Prometheus 2 → 3 upgrade inside the window. Prometheus 3 stores the bucket bounds it scrapes
 * as OpenMetrics writes them ("250.0", "1.8e+06"); 2.x stored them as the target wrote them
 * ("250", "1800000"). Across the upgrade every bucket of every pod is two series: the old
 * spelling until the upgrade (seen for the look-back after it), the new one from the upgrade on,
 * with the counter's whole value. Two real Prometheus servers hold the same hour of traffic, one
 * spelled as 2.x throughout, one as 2.x and then, from minute 40, as 3.x (the family written
 * without its histogram type, so that neither major's promtool respells it); the judge must
 * answer both alike, to the count.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrometheus, type PrometheusHandle } from '../support/prometheus.js';
import { startJudge, type JudgeHandle } from './harness/judge.js';
import { openMetrics } from './harness/simulation.js';
import { CANARY_HASH, STABLE_HASH, combined, type ScenarioName } from './harness/scenarios.js';

const NAMES: ScenarioName[] = ['healthy', 'slow-tail'];
const HOUR = 3600;
const UPGRADE = 40 * 60;

/** A bound as Prometheus 3 stores it: Go's shortest `%g`, with ".0" when it has neither "." nor "e". */
function openMetricsBound(le: string): string {
  if (le === '+Inf') return le;
  const f = Number(le);
  const [mantissa, e] = f.toExponential().split('e') as [string, string];
  const exp = Number(e);
  if (exp < -4 || exp >= 6)
    return `${mantissa}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  const s = String(f);
  return /[.e]/.test(s) ? s : `${s}.0`;
}

/** The history respelled from `upgradeUnix` on, as a 2.x server upgraded to 3.x stores it. */
function upgraded(text: string, upgradeUnix: number): string {
  return text
    .split('\n')
    .filter((line) => line !== '# TYPE istio_request_duration_milliseconds histogram')
    .map((line) => {
      const m = /^(istio_request_duration_milliseconds_bucket\{.*le=")([^"]*)(".*) (\d+)$/.exec(line);
      if (m === null || Number(m[4]) < upgradeUnix) return line;
      return `${m[1]}${openMetricsBound(m[2] as string)}${m[3]} ${m[4]}`;
    })
    .join('\n');
}

let plainProm: PrometheusHandle;
let upgradedProm: PrometheusHandle;
let plain: JudgeHandle;
let upgradedJudge: JudgeHandle;
let t0: number;

const iso = (unix: number): string => new Date(unix * 1000).toISOString();

function request(namespace: string, checks: unknown[]) {
  return {
    rollout: { name: 'catalogo', namespace },
    selector: { mode: 'pod-hash', canary: CANARY_HASH, stable: STABLE_HASH },
    start: iso(t0 + 20 * 60),
    end: iso(t0 + HOUR),
    interval: '60s',
    checks,
    timeline: 'true',
  };
}

beforeAll(async () => {
  const now = Math.floor(Date.now() / 1000);
  t0 = Math.floor((now - HOUR - 600) / 60) * 60;
  const history = openMetrics(combined(NAMES, 7), t0, HOUR, 15);
  [plainProm, upgradedProm] = await Promise.all([
    startPrometheus({ backfill: history }),
    startPrometheus({ backfill: upgraded(history, t0 + UPGRADE) }),
  ]);
  [plain, upgradedJudge] = await Promise.all([startJudge(plainProm.url), startJudge(upgradedProm.url)]);
});

afterAll(async () => {
  await Promise.all([plain?.close(), upgradedJudge?.close()]);
  await Promise.all([plainProm?.close(), upgradedProm?.close()]);
});

describe('bucket bounds respelled by a Prometheus 2 → 3 upgrade inside the window', () => {
  it('spells the bounds as Prometheus 3 does', () => {
    expect(
      ['0.5', '1', '250', '300000', '600000', '1800000', '3600000', '+Inf'].map(openMetricsBound),
    ).toEqual(['0.5', '1.0', '250.0', '300000.0', '600000.0', '1.8e+06', '3.6e+06', '+Inf']);
  });

  it('stores both spellings in the upgraded server (the data the judge must read as one)', async () => {
    const q = `count by (le) (istio_request_duration_milliseconds_bucket{namespace="slow-tail", le=~"250|250.0"})`;
    const res = await fetch(
      `${upgradedProm.url}/api/v1/query?query=${encodeURIComponent(q)}&time=${t0 + UPGRADE + 60}`,
    );
    const body = (await res.json()) as { data: { result: { metric: { le: string } }[] } };
    expect(body.data.result.map((r) => r.metric.le).sort()).toEqual(['250', '250.0']);
  });

  it.each([
    ['slow-tail', [{ type: 'latency', quantile: 0.99 }], 'Fail'],
    ['slow-tail', [{ type: 'latency', thresholdMs: 250 }], 'Fail'],
    ['healthy', [{ type: 'error-rate' }, { type: 'latency', quantile: 0.99 }], undefined],
  ] as const)(
    '%s, %j: the same answer, to the count, as without the upgrade',
    async (namespace, checks, verdict) => {
      const [a, b] = await Promise.all([
        plain.analyze(request(namespace, [...checks])),
        upgradedJudge.analyze(request(namespace, [...checks])),
      ]);
      expect(a.status).toBe(200);
      if (verdict !== undefined) expect(a.body.verdict).toBe(verdict);
      expect(b.status).toBe(200);
      expect(b.body.verdict).toBe(a.body.verdict);
      expect(b.body.summary).toBe(a.body.summary);
      expect(b.body.checks).toEqual(a.body.checks);
    },
  );
});

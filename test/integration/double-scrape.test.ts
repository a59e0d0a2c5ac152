/**
 * A counter scraped twice, against a real Prometheus: the canary's sidecar metrics stored once
 * by annotation scraping and once more by a PodMonitor (same series, different job and
 * instance), backfilled next to the same history scraped once. The judge must count the
 * doubled namespace exactly like the single one; with deduplication turned off it would not,
 * which is what this test could catch.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrometheus, type PrometheusHandle } from '../support/prometheus.js';
import { startJudge, type JudgeHandle } from './harness/judge.js';
import { openMetrics } from './harness/simulation.js';
import { CANARY_HASH, STABLE_HASH, combined } from './harness/scenarios.js';

const HOUR = 3600;
let prom: PrometheusHandle;
let judge: JudgeHandle;
let undeduplicated: JudgeHandle;
let t0: number;

/**
 * The scenario's series copied into namespace `twice` as annotation scraping stores them, plus
 * each canary series once more as a PodMonitor stores it.
 */
function scrapedTwice(text: string): string {
  const out: string[] = [];
  const copies: string[] = [];
  const doubles: string[] = [];
  const flush = (): void => {
    out.push(...copies, ...doubles);
    copies.length = 0;
    doubles.length = 0;
  };
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) {
      flush();
      out.push(line);
      continue;
    }
    out.push(line);
    if (!line.includes('namespace="healthy"')) continue;
    const moved = line.replaceAll('namespace="healthy"', 'namespace="twice"');
    copies.push(moved.replace('{', '{job="kubernetes-pods",instance="10.1.2.3:15020",'));
    if (line.includes(`pod="catalogo-${CANARY_HASH}-`))
      doubles.push(moved.replace('{', '{job="istio-podmonitor",instance="10.1.2.3:15090",'));
  }
  return out.filter((l) => l !== '').join('\n') + '\n';
}

const iso = (unix: number): string => new Date(unix * 1000).toISOString();
const request = (namespace: string) => ({
  rollout: { name: 'catalogo', namespace },
  selector: { mode: 'pod-hash', canary: CANARY_HASH, stable: STABLE_HASH },
  start: iso(t0),
  end: iso(t0 + 40 * 60),
  interval: '60s',
  checks: [{ type: 'error-rate' }, { type: 'latency', thresholdMs: 250 }],
});

beforeAll(async () => {
  t0 = Math.floor((Date.now() / 1000 - HOUR - 600) / 60) * 60;
  prom = await startPrometheus({
    backfill: scrapedTwice(openMetrics(combined(['healthy'], 7), t0, HOUR, 15)),
  });
  judge = await startJudge(prom.url);
  undeduplicated = await startJudge(prom.url, { CANARY_JUDGE_SCRAPE_LABELS: 'none' });
});

afterAll(async () => {
  await undeduplicated?.close();
  await judge?.close();
  await prom?.close();
});

describe('a counter scraped twice under different job and instance labels', () => {
  it('is counted once: the same counts and verdict as the history scraped once', async () => {
    const once = await judge.analyze(request('healthy'));
    const twice = await judge.analyze(request('twice'));
    expect(once.status).toBe(200);
    expect(twice.status).toBe(200);
    expect(once.body.checks[0].canary.requests).toBeGreaterThan(1000);
    for (const i of [0, 1]) {
      expect(twice.body.checks[i].canary).toEqual(once.body.checks[i].canary);
      expect(twice.body.checks[i].stable).toEqual(once.body.checks[i].stable);
      expect(twice.body.checks[i].verdict).toBe(once.body.checks[i].verdict);
    }
    expect(twice.body.verdict).toBe(once.body.verdict);
  });

  it('is counted twice when deduplication is turned off (CANARY_JUDGE_SCRAPE_LABELS=none)', async () => {
    const once = await undeduplicated.analyze(request('healthy'));
    const twice = await undeduplicated.analyze(request('twice'));
    expect(twice.body.checks[0].canary.requests).toBeCloseTo(2 * once.body.checks[0].canary.requests, 6);
    expect(twice.body.checks[0].stable).toEqual(once.body.checks[0].stable);
  });
});

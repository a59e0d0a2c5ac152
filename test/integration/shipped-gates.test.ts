/**
 * The shipped gates on production-shaped data, through the judge's HTTP API against a real
 * Prometheus: each analysis step of rollouts/catalogo sends the scorecard template's body (as
 * Argo resolves it, with that step's args), one look a minute, up to the step's max-wait.
 *
 * The data are not shaped to fit the judge: 100 requests/s in all, Istio's default duration
 * buckets, log-normal latency (median 40 ms, σ 0.6: the stable's p99 ≈ 161 ms sits inside the
 * (100, 250] bucket, whose upper edge only 0.1% of requests exceed), 0.1% errors or none at all,
 * and an hour of stable-only history before the canary starts. Each scenario starts a fresh
 * canary at its gate's weight (no earlier steps' data to lean on), which is harder than the
 * Rollout itself, where a gate also sees the previous steps' requests.
 *
 * Looks pass `end` (one minute later each time) because the history is backfilled; everything
 * else is the shipped request.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { REPO } from '../manifests/lib/files.js';
import { startJudge, type JudgeHandle } from './harness/judge.js';
import { startPrometheus, type PrometheusHandle } from '../support/prometheus.js';
import {
  CANARY_HASH,
  CANARY_SERVICE,
  CANARY_VERSION,
  STABLE_HASH,
  STABLE_SERVICE,
  STABLE_VERSION,
} from './harness/scenarios.js';
import { openMetrics, type LognormalLatency, type WorkloadSpec } from './harness/simulation.js';

const RPS = 100;
const HISTORY = 3600;
const CANARY_MINUTES = 31;
const SEED = 20261130;
const SHAPE: LognormalLatency = { medianMs: 40, sigma: 0.6 };

type Obj = Record<string, any>;

/** The scorecard template's body for one analysis step, with Argo's {{args.x}} substituted. */
function gateBody(stepIndex: number, namespace: string): { body: Obj; maxWait: number } {
  const template = parse(
    readFileSync(join(REPO, 'analysis-templates/canary-judge-scorecard.yaml'), 'utf8'),
  ) as Obj;
  const rollout = parseAllDocuments(readFileSync(join(REPO, 'rollouts/catalogo/rollout.yaml'), 'utf8'))
    .map((d) => d.toJS() as Obj)
    .find((d) => d['kind'] === 'Rollout') as Obj;
  const step = rollout['spec']['strategy']['canary']['steps'][stepIndex] as Obj;
  const values = new Map<string, string>();
  for (const a of template['spec']['args'] as Obj[])
    if (typeof a['value'] === 'string') values.set(a['name'], a['value']);
  for (const a of step['analysis']['args'] as Obj[])
    if (typeof a['value'] === 'string') values.set(a['name'], a['value']);
  values.set('canary-hash', CANARY_HASH);
  values.set('stable-hash', STABLE_HASH);
  values.set('rollout-name', 'catalogo');
  values.set('rollout-namespace', namespace);
  const metric = (template['spec']['metrics'] as Obj[])[0] as Obj;
  const text = JSON.stringify(metric['provider']['web']['jsonBody']).replace(
    /\{\{args\.([\w-]+)\}\}/g,
    (_m, name: string) => {
      const v = values.get(name);
      if (v === undefined) throw new Error(`step ${stepIndex}: no value for arg ${name}`);
      return v;
    },
  );
  return { body: JSON.parse(text) as Obj, maxWait: Number(values.get('max-wait')) };
}

/** Index of the analysis step that follows `setWeight: weight` in the shipped Rollout. */
function gateStep(weight: number): number {
  const rollout = parseAllDocuments(readFileSync(join(REPO, 'rollouts/catalogo/rollout.yaml'), 'utf8'))
    .map((d) => d.toJS() as Obj)
    .find((d) => d['kind'] === 'Rollout') as Obj;
  const steps = rollout['spec']['strategy']['canary']['steps'] as Obj[];
  const i = steps.findIndex((s, j) => s['analysis'] !== undefined && steps[j - 1]?.['setWeight'] === weight);
  if (i < 0) throw new Error(`no analysis step right after setWeight ${weight}`);
  return i;
}

interface Side {
  errorRate: number;
  latency: LognormalLatency;
}

interface Scenario {
  readonly name: string;
  readonly weight: number;
  readonly stable: Side;
  readonly canary: Side;
}

const SAME: Side = { errorRate: 0.001, latency: SHAPE };
const CLEAN: Side = { errorRate: 0, latency: SHAPE };

const SCENARIOS: readonly Scenario[] = [
  { name: 'gate-1-identical', weight: 1, stable: SAME, canary: SAME },
  { name: 'gate-1-clean', weight: 1, stable: CLEAN, canary: CLEAN },
  { name: 'gate-5-identical', weight: 5, stable: SAME, canary: SAME },
  { name: 'gate-5-clean', weight: 5, stable: CLEAN, canary: CLEAN },
  { name: 'gate-50-identical', weight: 50, stable: SAME, canary: SAME },
  { name: 'gate-50-clean', weight: 50, stable: CLEAN, canary: CLEAN },
  // Regressions beyond their gate's tolerance, max(critical-effect × stable, stable +
  // critical-increase): 1% gate 5× or +1 pp, 5% gate 3× or +0.3 pp, 50% gate 1.5× or +0.1 pp.
  { name: 'gate-1-errors-30x', weight: 1, stable: SAME, canary: { ...SAME, errorRate: 0.03 } },
  { name: 'gate-5-errors-5x', weight: 5, stable: SAME, canary: { ...SAME, errorRate: 0.005 } },
  {
    name: 'gate-50-errors-2x',
    weight: 50,
    stable: { ...SAME, errorRate: 0.005 },
    canary: { ...SAME, errorRate: 0.01 },
  },
  {
    name: 'gate-5-latency-2x',
    weight: 5,
    stable: SAME,
    canary: { ...SAME, latency: { ...SHAPE, medianMs: 80 } },
  },
  {
    name: 'gate-5-tail-only',
    weight: 5,
    stable: SAME,
    canary: { ...SAME, latency: { ...SHAPE, tailShare: 0.03, tailAddMs: 300 } },
  },
];

function workloads(s: Scenario): WorkloadSpec[] {
  const base = { rollout: 'catalogo', namespace: s.name, slowFraction: 0 };
  return [
    {
      ...base,
      hash: STABLE_HASH,
      version: STABLE_VERSION,
      service: STABLE_SERVICE,
      pods: 2,
      rps: RPS * (1 - s.weight / 100),
      errorRate: s.stable.errorRate,
      latency: s.stable.latency,
    },
    {
      ...base,
      hash: CANARY_HASH,
      version: CANARY_VERSION,
      service: CANARY_SERVICE,
      pods: 1,
      rps: (RPS * s.weight) / 100,
      errorRate: s.canary.errorRate,
      latency: s.canary.latency,
      from: HISTORY,
    },
  ];
}

let prom: PrometheusHandle;
let judge: JudgeHandle;
let canaryStart: number;

beforeAll(async () => {
  const now = Math.floor(Date.now() / 1000);
  const t0 = Math.floor((now - HISTORY - CANARY_MINUTES * 60 - 600) / 60) * 60;
  canaryStart = t0 + HISTORY;
  const spec = { seed: SEED, workloads: SCENARIOS.flatMap(workloads) };
  prom = await startPrometheus({ backfill: openMetrics(spec, t0, HISTORY + CANARY_MINUTES * 60, 15) });
  judge = await startJudge(prom.url);
}, 300_000);

afterAll(async () => {
  await judge?.close();
  await prom?.close();
});

interface Walk {
  /** Minute of the first conclusive answer (null: none within max-wait). */
  readonly minute: number | null;
  readonly verdict: string;
  readonly summary: string;
  readonly answers: Obj[];
}

/** Looks once a minute, as the step's analysis run does, until Pass or Fail or max-wait. */
async function walkGate(s: Scenario): Promise<Walk> {
  const { body, maxWait } = gateBody(gateStep(s.weight), s.name);
  const answers: Obj[] = [];
  for (let minute = 1; minute <= maxWait; minute++) {
    const res = await judge.analyze({
      ...body,
      end: new Date((canaryStart + minute * 60) * 1000).toISOString(),
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    answers.push(res.body as Obj);
    if (res.body.verdict !== 'Inconclusive')
      return { minute, verdict: res.body.verdict, summary: res.body.summary, answers };
  }
  const last = answers[answers.length - 1] as Obj;
  return { minute: null, verdict: 'Inconclusive', summary: last['summary'], answers };
}

const byName = (n: string): Scenario => SCENARIOS.find((s) => s.name === n) as Scenario;

describe('each shipped gate on production-shaped data at 100 requests/s', () => {
  it.each(['gate-1-identical', 'gate-5-identical', 'gate-50-identical'])(
    'passes an identical release within its max-wait (%s)',
    async (name) => {
      const w = await walkGate(byName(name));
      expect(w.verdict, w.summary).toBe('Pass');
      // Latency passes on the edge that holds the stable p99's share of requests.
      const latency = (w.answers.at(-1)?.['checks'] as Obj[]).find((c) => c['type'] === 'latency') as Obj;
      expect(latency['threshold']).toMatchObject({ ms: 250, lowMs: 100, basis: 'stable-before-window' });
    },
  );

  it.each(['gate-1-clean', 'gate-5-clean', 'gate-50-clean'])(
    'passes a service with no errors at all through the floor (%s)',
    async (name) => {
      const w = await walkGate(byName(name));
      expect(w.verdict, w.summary).toBe('Pass');
      const errors = (w.answers.at(-1)?.['checks'] as Obj[]).find((c) => c['type'] === 'error-rate') as Obj;
      expect(errors['canary']['bad']).toBe(0);
      expect(errors['floor']['met']).toBe(true);
      expect(errors['summary']).toMatch(/within tolerance/);
    },
  );

  it('says how long an undecided gate still needs, in minutes at this traffic', async () => {
    const { body } = gateBody(gateStep(1), 'gate-1-clean');
    const res = await judge.analyze({ ...body, end: new Date((canaryStart + 2 * 60) * 1000).toISOString() });
    expect(res.body.verdict).toBe('Inconclusive');
    const errors = (res.body.checks as Obj[]).find((c) => c['type'] === 'error-rate') as Obj;
    expect(errors['reason']).toBe('insufficient_data');
    expect(errors['settleMinutes']).toBeGreaterThan(0);
    expect(errors['summary']).toMatch(/about \d+ more minutes? at this traffic/);
  });

  it.each([
    ['gate-1-errors-30x', 'error-rate'],
    ['gate-5-errors-5x', 'error-rate'],
    ['gate-50-errors-2x', 'error-rate'],
    ['gate-5-latency-2x', 'latency'],
    ['gate-5-tail-only', 'latency'],
  ])('fails a regression before it ever passes (%s)', async (name, failing) => {
    const w = await walkGate(byName(name));
    expect(w.verdict, w.summary).toBe('Fail');
    const failed = (w.answers.at(-1)?.['checks'] as Obj[])
      .filter((c) => c['verdict'] === 'Fail')
      .map((c) => c['type']);
    expect(failed).toContain(failing);
  });
});

/**
 * The judge as a real process (`node --import tsx src/main.ts`, configured by environment)
 * against a real Prometheus scraping the live synthetic exporter every second: the path a
 * deployment takes, including graceful shutdown with an analysis in flight.
 */

import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startExporter, type ExporterHandle } from './harness/exporter.js';
import { startPrometheus, waitForSeries, type PrometheusHandle } from '../support/prometheus.js';
import { freePort } from '../support/net.js';
import { CANARY_HASH, STABLE_HASH, combined } from './harness/scenarios.js';

let exporter: ExporterHandle;
let prom: PrometheusHandle;
const children: ChildProcess[] = [];

interface Proc {
  child: ChildProcess;
  url: string;
  output: () => string;
  exited: Promise<number | null>;
}

async function spawnJudge(env: Record<string, string>, waitReady = true): Promise<Proc> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: {
      PATH: process.env['PATH'] ?? '',
      CANARY_JUDGE_HOST: '127.0.0.1',
      CANARY_JUDGE_PORT: String(port),
      CANARY_JUDGE_GRPC_PORT: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  child.stdout?.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr?.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  if (waitReady) {
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`judge exited early:\n${out}`);
      try {
        if ((await fetch(`${url}/healthz`)).ok) break;
      } catch {
        // not yet listening
      }
      if (Date.now() > deadline) throw new Error(`judge not ready:\n${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { child, url, output: () => out, exited };
}

function body(namespace: string) {
  return {
    rollout: { name: 'catalogo', namespace },
    selector: { mode: 'pod-hash', canary: CANARY_HASH, stable: STABLE_HASH },
    start: 'canary-first-sample',
    interval: '5s',
    checks: [{ type: 'error-rate', alpha: '0.01', criticalEffect: '2', power: '0.8' }],
  };
}

async function post(url: string, b: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${url}/api/v1/analyses`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(b),
  });
  return { status: res.status, body: await res.json() };
}

beforeAll(async () => {
  exporter = await startExporter({ spec: combined(['healthy', 'error-3x'], 42, 10) });
  prom = await startPrometheus({ scrape: [exporter.target], scrapeInterval: '1s' });
  await waitForSeries(
    prom.url,
    `istio_requests_total{destination_workload_namespace="error-3x", pod=~"catalogo-${CANARY_HASH}-.*"}`,
  );
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  prom?.resume();
  await prom?.close();
  await exporter?.close();
});

describe('the judge process on live scraped data', () => {
  it('refuses to start on a bad configuration, naming every problem', async () => {
    const p = await spawnJudge(
      {
        CANARY_JUDGE_PROMETHEUS_URL: 'ftp://x',
        CANARY_JUDGE_QUERY_CONCURRENCY: 'lots',
        CANARY_JUDGE_LOG_LEVEL: 'loud',
      },
      false,
    );
    expect(await p.exited).toBe(2);
    const out = p.output();
    expect(out).toContain('CANARY_JUDGE_PROMETHEUS_URL="ftp://x" must be an http:// or https:// URL');
    expect(out).toContain('CANARY_JUDGE_QUERY_CONCURRENCY="lots"');
    expect(out).toContain('CANARY_JUDGE_LOG_LEVEL="loud"');
  });

  it('fails the 3x-error canary from live data within a minute, and logs JSON with the verdict', async () => {
    const p = await spawnJudge({ CANARY_JUDGE_PROMETHEUS_URL: prom.url });
    // Until the first sample is a full grid step old, the judge says it has found none.
    let first = await post(p.url, body('healthy'));
    for (let i = 0; i < 30 && first.body.window.start === null; i++) {
      expect(first.body.verdict).toBe('Inconclusive');
      await new Promise((res) => setTimeout(res, 500));
      first = await post(p.url, body('healthy'));
    }
    expect(first.status).toBe(200);
    expect(first.body.window.startSource).toBe('canary-first-sample');
    expect(first.body.window.start, JSON.stringify(first.body)).not.toBeNull();
    expect(first.body.verdict, first.body.summary).not.toBe('Fail');

    let verdict = '';
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const r = await post(p.url, body('error-3x'));
      expect(r.status).toBe(200);
      verdict = r.body.verdict;
      if (verdict === 'Fail') {
        expect(r.body.checks[0].reason).toBe('regression_detected');
        break;
      }
      await new Promise((res) => setTimeout(res, 2000));
    }
    expect(verdict).toBe('Fail');
    await new Promise((r) => setTimeout(r, 200)); // let the log line reach the pipe
    const lines = p
      .output()
      .split('\n')
      .filter((l) => l.includes('"message":"analysis"') && l.includes('"verdict":"Fail"'));
    expect(lines.length).toBeGreaterThan(0);
    const log = JSON.parse(lines[lines.length - 1] as string);
    expect(log).toMatchObject({ level: 'info', rollout: 'catalogo', namespace: 'error-3x', verdict: 'Fail' });
    expect(log.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(log.summary).toMatch(/^Fail error-rate: /);

    const metrics = await (await fetch(`${p.url}/metrics`)).text();
    expect(metrics).toMatch(
      /canary_judge_http_requests_total\{endpoint="analyses",status="200",verdict="Fail"\} \d+/,
    );
    expect(metrics).toMatch(/canary_judge_build_info\{version="[^"]+",nodejs="[^"]+"\} 1/);
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
  }, 120_000);

  it('with a shutdown delay, fails readiness but still answers analyses before closing', async () => {
    const p = await spawnJudge({ CANARY_JUDGE_PROMETHEUS_URL: prom.url, CANARY_JUDGE_SHUTDOWN_DELAY: '3s' });
    p.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    expect((await fetch(`${p.url}/readyz`)).status).toBe(503);
    const r = await post(p.url, body('healthy'));
    expect(r.status).toBe(200);
    expect(await p.exited).toBe(0);
    expect(p.output()).toContain('"message":"draining: readiness fails, analyses still served"');
  });

  it('finishes an in-flight analysis on SIGTERM, then exits 0', async () => {
    const p = await spawnJudge({
      CANARY_JUDGE_PROMETHEUS_URL: prom.url,
      CANARY_JUDGE_PROMETHEUS_TIMEOUT: '20s',
      CANARY_JUDGE_ANALYSIS_DEADLINE: '20s',
    });
    prom.pause(); // the analysis now waits on Prometheus
    try {
      const inFlight = post(p.url, body('healthy'));
      await new Promise((r) => setTimeout(r, 500));
      p.child.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 500));
      expect(p.child.exitCode).toBeNull(); // still draining
      const ready = await fetch(`${p.url}/readyz`).catch(() => undefined);
      if (ready !== undefined) expect(ready.status).toBe(503);
      prom.resume();
      const r = await inFlight;
      expect(r.status).toBe(200);
      expect(['Pass', 'Fail', 'Inconclusive']).toContain(r.body.verdict);
      expect(await p.exited).toBe(0);
      expect(p.output()).toContain('"message":"stopped"');
    } finally {
      prom.resume();
    }
  });
});

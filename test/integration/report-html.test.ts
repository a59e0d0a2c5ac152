/**
 * The HTML report in a real browser (Debian's Chromium, headless): built from a real judge
 * answer with `timeline` (real Prometheus, a canary with 3× the stable's errors), it renders,
 * each chart holds the numbers the API returned (read back from Chart.js in the page), and no
 * request leaves the page (Chromium sends everything through a counting proxy; what Chromium
 * itself asks of Google's update and accounts services, which headless Chromium 156 does even
 * with its background networking off, is set apart by host). Set
 * REPORT_SCREENSHOT_OUT=docs/images/report.png to refresh the README's picture.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnalysisResult } from '../../src/judge/types.js';
import { chartJsSource } from '../../src/report/cli.js';
import { chartData, renderHtml } from '../../src/report/html.js';
import { snapshotOf, type RolloutObject } from '../../src/report/snapshot.js';
import { renderTerminal } from '../../src/report/terminal.js';
import { startPrometheus, type PrometheusHandle } from '../support/prometheus.js';
import { startJudge, type JudgeHandle } from './harness/judge.js';
import { CANARY_HASH, STABLE_HASH, combined } from './harness/scenarios.js';
import { openMetrics } from './harness/simulation.js';

const CHROMIUM = process.env['CHROMIUM_BIN'] ?? 'chromium';
const MINUTES = 40;

let prom: PrometheusHandle;
let judge: JudgeHandle;
let proxy: Server;
let proxied: string[] = [];
let proxyPort = 0;
let t0 = 0;

/** Chromium's own services (component updater, accounts), not anything the page asked for. */
const BROWSER_SERVICES =
  /^(?:https?:\/\/)?(?:update\.googleapis\.com|accounts\.google\.com|clients2\.google\.com)(?::\d+)?(?:\/|$)/;
const browserService = (url: string): boolean => BROWSER_SERVICES.test(url);

const iso = (unix: number): string => new Date(unix * 1000).toISOString();

function chromium(args: readonly string[]): Promise<string> {
  const base = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-dev-shm-usage',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-default-apps',
    '--disable-sync',
    '--hide-scrollbars',
    '--no-pings',
    '--disable-domain-reliability',
    '--disable-client-side-phishing-detection',
    '--disable-features=NetworkTimeServiceQuerying,OptimizationHints,MediaRouter,Translate,AutofillServerCommunication,CertificateTransparencyComponentUpdater,SigninIntercept,AccountConsistency',
    `--proxy-server=http://127.0.0.1:${proxyPort}`,
    '--proxy-bypass-list=<-loopback>',
    `--user-data-dir=${mkdtempSync(join(tmpdir(), 'canary-judge-chromium-'))}`,
    '--virtual-time-budget=10000',
  ];
  return new Promise((res, rej) => {
    execFile(
      CHROMIUM,
      [...base, ...args],
      { timeout: 120_000, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) =>
        err === null
          ? res(stdout)
          : rej(new Error(`${CHROMIUM} failed: ${err.message}\n${stderr.slice(-2000)}`)),
    );
  });
}

beforeAll(async () => {
  const now = Math.floor(Date.now() / 1000);
  t0 = Math.floor((now - MINUTES * 60 - 600) / 60) * 60;
  prom = await startPrometheus({ backfill: openMetrics(combined(['error-3x'], 7), t0, MINUTES * 60, 15) });
  judge = await startJudge(prom.url);
  proxy = createServer((req, res) => {
    if (!browserService(req.url ?? '')) proxied.push(`${req.method ?? ''} ${req.url ?? ''}`);
    res.writeHead(502).end();
  });
  proxy.on('connect', (req, socket) => {
    if (!browserService(req.url ?? '')) proxied.push(`CONNECT ${req.url ?? ''}`);
    socket.end();
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  const addr = proxy.address();
  proxyPort = typeof addr === 'object' && addr !== null ? addr.port : 0;
});

afterAll(async () => {
  proxy?.close();
  await judge?.close();
  await prom?.close();
});

describe('the HTML report in headless Chromium', () => {
  it('renders every chart with the numbers the judge returned, and sends no request', async () => {
    const r = await judge.analyze({
      rollout: { name: 'catalogo', namespace: 'error-3x' },
      selector: { mode: 'pod-hash', canary: CANARY_HASH, stable: STABLE_HASH },
      start: iso(t0),
      end: iso(t0 + MINUTES * 60),
      interval: '60s',
      timeline: true,
      checks: [{ type: 'error-rate' }, { type: 'latency', quantile: 0.99 }],
    });
    expect(r.status).toBe(200);
    const result = r.body as AnalysisResult;
    const judgeStep = { analysis: { templates: [{ templateName: 'canary-judge-scorecard' }] } };
    const rollout: RolloutObject = {
      metadata: { name: 'catalogo', namespace: 'error-3x' },
      spec: {
        strategy: {
          canary: { steps: [{ setWeight: 1 }, judgeStep, { setWeight: 5 }, judgeStep, { setWeight: 50 }] },
        },
      },
      status: {
        phase: 'Paused',
        currentPodHash: CANARY_HASH,
        stableRS: STABLE_HASH,
        currentStepIndex: 3,
        canary: { weights: { canary: { weight: 5 } } },
      },
    };
    const rs = [
      {
        metadata: {
          name: `catalogo-${CANARY_HASH}`,
          creationTimestamp: iso(t0),
          labels: { 'rollouts-pod-template-hash': CANARY_HASH },
        },
      },
    ];
    // The analysis runs of steps 1 and 3 (the weight band: 1% from the start, 5% after 15 min).
    const stepRun = (step: number, minute: number) => ({
      metadata: {
        name: `catalogo-${CANARY_HASH}-${step}`,
        creationTimestamp: iso(t0 + minute * 60),
        labels: {
          'rollouts-pod-template-hash': CANARY_HASH,
          'rollout-type': 'Step',
          'step-index': String(step),
        },
      },
    });
    const runs = [stepRun(1, 0), stepRun(3, 15)];
    const snap = snapshotOf(rollout, rs, runs);
    const text = renderTerminal(snap, result);
    const dir = mkdtempSync(join(tmpdir(), 'canary-judge-report-'));
    const file = join(dir, 'report.html');
    writeFileSync(file, renderHtml(snap, result, text, chartJsSource()));
    proxied = [];

    const dom = await chromium(['--dump-dom', pathToFileURL(file).href]);
    expect(dom).toMatch(/<body[^>]*data-rendered="true"/);
    const heldText = /<script id="charts-held" type="application\/json">(.*?)<\/script>/s.exec(dom)?.[1];
    expect(heldText).toBeDefined();
    const held = JSON.parse(heldText as string) as Record<
      string,
      { label: string; data: (number | null)[] }[]
    >;
    for (const c of result.checks) {
      const want = chartData(snap, c);
      const series = (chart: string, label: string) =>
        held[`${chart}-${c.name}`]?.find((d) => d.label === label)?.data;
      expect(want.eValue.length).toBe(result.window.intervals);
      expect(series('evidence', 'e-value')).toEqual(c.timeline?.map((p) => Math.max(p.eValue, 1e-12)));
      expect(series('power', 'power')).toEqual(c.timeline?.map((p) => p.power));
      expect(series('rate', 'canary %')).toEqual(want.canaryRate);
      expect(series('rate', 'stable %')).toEqual(want.stableRate);
      expect(series('rate', 'canary weight %')).toEqual(want.weight);
      expect(series('evidence', 'Fail at 1/α')?.[0]).toBe(c.evidence?.threshold);
    }
    expect(proxied).toEqual([]);

    const shot = resolve(process.env['REPORT_SCREENSHOT_OUT'] ?? join(dir, 'report.png'));
    await chromium(['--window-size=1000,1500', `--screenshot=${shot}`, pathToFileURL(file).href]);
    expect(statSync(shot).size).toBeGreaterThan(20_000);
    expect(proxied).toEqual([]);
  }, 240_000);
});

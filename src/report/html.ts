/**
 * The report as one self-contained HTML page: the terminal summary, and per check four charts —
 * canary vs stable bad-request rate per interval with 95 % Clopper–Pearson intervals, the
 * e-value's path on a log scale with the Fail line, power against the critical effect with the
 * required line — each with the canary's weight as a stepped band behind it. Chart.js (from the
 * npm registry) is inlined and the data embedded: the page makes no request when opened.
 */
import type { AnalysisResult, CheckResult } from '../judge/types.js';
import { clopperPearson } from '../stats/effect.js';
import type { Snapshot } from './snapshot.js';

/** Chart data of one check, as embedded in the page (also what the browser test reads back). */
export interface CheckChartData {
  readonly name: string;
  readonly verdict: string;
  readonly labels: readonly string[];
  readonly canaryRate: readonly (number | null)[];
  readonly canaryLow: readonly (number | null)[];
  readonly canaryHigh: readonly (number | null)[];
  readonly stableRate: readonly (number | null)[];
  readonly eValue: readonly number[];
  readonly threshold: number;
  readonly power: readonly number[];
  readonly requiredPower: number;
  readonly weight: readonly (number | null)[];
}

function weightAt(s: Snapshot, end: string): number | null {
  let w: number | null = null;
  for (const span of s.weights) if (span.from <= end) w = span.weight;
  return w;
}

export function chartData(s: Snapshot, c: CheckResult): CheckChartData {
  const t = c.timeline ?? [];
  const rate = (bad: number, n: number): number | null => (n > 0 ? (100 * bad) / n : null);
  const ci = t.map((p) =>
    p.canary.requests > 0
      ? clopperPearson(Math.round(p.canary.bad), Math.round(p.canary.requests), 0.95)
      : null,
  );
  return {
    name: c.name,
    verdict: c.verdict,
    labels: t.map((p) => p.end.slice(11, 16)),
    canaryRate: t.map((p) => rate(p.canary.bad, p.canary.requests)),
    canaryLow: ci.map((x) => (x === null ? null : 100 * x.lower)),
    canaryHigh: ci.map((x) => (x === null ? null : 100 * x.upper)),
    stableRate: t.map((p) => rate(p.stable.bad, p.stable.requests)),
    eValue: t.map((p) => Math.max(p.eValue, 1e-12)),
    threshold: c.evidence?.threshold ?? 0,
    power: t.map((p) => p.power),
    requiredPower: c.params.power,
    weight: t.map((p) => weightAt(s, p.end)),
  };
}

const escapeHtml = (s: string): string =>
  s.replace(/[&<>"]/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[ch] as string);

/** JSON or script text safe inside a <script> element. */
const scriptSafe = (s: string): string => s.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');

const DRAW = `
const data = JSON.parse(document.getElementById('report-data').textContent);
const band = (w) => ({ type: 'line', label: 'canary weight %', data: w, yAxisID: 'w', stepped: true,
  fill: true, borderWidth: 0, pointRadius: 0, backgroundColor: 'rgba(120,120,120,0.12)', order: 9 });
const wAxis = { position: 'right', min: 0, max: 100, title: { display: true, text: 'weight %' }, grid: { display: false } };
const opts = (y) => ({ animation: false, responsive: false, interaction: { mode: 'index', intersect: false },
  scales: { y, w: wAxis } });
for (const c of data.checks) {
  const line = (label, d, color, extra = {}) => ({ type: 'line', label, data: d, borderColor: color,
    backgroundColor: color, pointRadius: 0, borderWidth: 2, spanGaps: true, ...extra });
  new Chart(document.getElementById('rate-' + c.name), { data: { labels: c.labels, datasets: [
    line('canary 95% low', c.canaryLow, 'rgba(214,39,40,0.25)', { borderWidth: 0 }),
    line('canary 95% high', c.canaryHigh, 'rgba(214,39,40,0.25)', { borderWidth: 0, fill: '-1' }),
    line('canary %', c.canaryRate, 'rgb(214,39,40)'), line('stable %', c.stableRate, 'rgb(31,119,180)'),
    band(c.weight)] }, options: opts({ title: { display: true, text: 'bad requests %' }, min: 0 }) });
  new Chart(document.getElementById('evidence-' + c.name), { data: { labels: c.labels, datasets: [
    line('e-value', c.eValue, 'rgb(148,103,189)'),
    line('Fail at 1/α', c.labels.map(() => c.threshold), 'rgb(214,39,40)', { borderDash: [6, 4], borderWidth: 1 }),
    band(c.weight)] }, options: opts({ type: 'logarithmic', title: { display: true, text: 'e-value' } }) });
  new Chart(document.getElementById('power-' + c.name), { data: { labels: c.labels, datasets: [
    line('power', c.power, 'rgb(44,160,44)'),
    line('required', c.labels.map(() => c.requiredPower), 'rgb(44,160,44)', { borderDash: [6, 4], borderWidth: 1 }),
    band(c.weight)] }, options: opts({ min: 0, max: 1, title: { display: true, text: 'power vs critical effect' } }) });
}
// What the charts hold, read back from Chart.js, for anyone checking the page against the API.
const held = {};
for (const canvas of document.querySelectorAll('canvas')) {
  held[canvas.id] = Chart.getChart(canvas).data.datasets.map((d) => ({ label: d.label, data: d.data }));
}
document.getElementById('charts-held').textContent = JSON.stringify(held);
document.body.dataset.rendered = 'true';
`;

/** The whole page; `chartJs` is the text of Chart.js' UMD build. */
export function renderHtml(s: Snapshot, r: AnalysisResult, terminalText: string, chartJs: string): string {
  const checks = r.checks.map((c) => chartData(s, c));
  const sections = checks
    .map(
      (c) => `<section><h2>${escapeHtml(c.name)}: ${escapeHtml(c.verdict)}</h2>
<canvas id="rate-${escapeHtml(c.name)}" width="900" height="260"></canvas>
<canvas id="evidence-${escapeHtml(c.name)}" width="900" height="220"></canvas>
<canvas id="power-${escapeHtml(c.name)}" width="900" height="180"></canvas></section>`,
    )
    .join('\n');
  const title = `${s.rollout.namespace}/${s.rollout.name}: ${r.verdict}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<title>canary-judge report — ${escapeHtml(title)}</title>
<style>body{font:14px system-ui,sans-serif;margin:24px;max-width:960px}pre{background:#f6f6f6;padding:12px;overflow:auto}section{margin:24px 0}</style>
</head><body>
<h1>canary-judge report — ${escapeHtml(title)}</h1>
<pre>${escapeHtml(terminalText)}</pre>
${sections}
<script id="charts-held" type="application/json"></script>
<script id="report-data" type="application/json">${scriptSafe(JSON.stringify({ checks }))}</script>
<script>${scriptSafe(chartJs)}</script>
<script>${DRAW}</script>
</body></html>
`;
}

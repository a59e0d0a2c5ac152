/**
 * The judge's answer as the metric plugin records it (PluginService, plugin.proto): the verdict
 * in the HTTP API's spelling, the score, the summary, and flat text metadata, one group of keys
 * per check. Laid out here, from the same AnalyzeResponse the Analyze method answers, so the
 * plugin shows whatever a check kind has to show without knowing the kind: a new kind adds keys
 * here (or none), never code to the plugin.
 *
 * Numbers are printed with three significant digits in Go's %g form (`0.0123`, `1.23e+04`),
 * as the judge's summaries round them.
 */

import {
  Reason,
  Scorecard_Reason,
  Verdict,
  type AnalyzeResponse,
  type SideCounts,
} from '../../gen/canary_judge/v1/judge.js';
import type { AnalyzePluginConfigResponse } from '../../gen/canary_judge/v1/plugin.js';

const VERDICT_TEXT: Readonly<Partial<Record<Verdict, string>>> = {
  [Verdict.VERDICT_PASS]: 'Pass',
  [Verdict.VERDICT_FAIL]: 'Fail',
  [Verdict.VERDICT_INCONCLUSIVE]: 'Inconclusive',
};

/** `v` with three significant digits, as Go's strconv.FormatFloat(v, 'g', 3, 64) prints it. */
export function num(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const [mantissa = '', exponent = '0'] = v.toExponential(2).split('e');
  const exp = Number(exponent);
  const digits = mantissa.replace(/\.?0+$/, '');
  if (exp < -4 || exp >= 3)
    return `${digits}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  return String(Number(v.toPrecision(3)));
}

/** `REASON_ALL_PASSED` → `all_passed`. */
function reasonText(name: string | undefined): string {
  return (name ?? 'REASON_UNSPECIFIED').replace(/^REASON_/, '').toLowerCase();
}

function sideText(s: SideCounts): string {
  const rate = s.rate === undefined ? '' : ` (${num(100 * s.rate)}%)`;
  return `${num(s.bad)} bad of ${num(s.requests)}${rate}`;
}

/** The measurement for this answer. */
export function toMeasurement(res: AnalyzeResponse): AnalyzePluginConfigResponse {
  const verdict = VERDICT_TEXT[res.verdict] ?? '';
  const md: Record<string, string> = { verdict, score: num(res.score), judge: res.judge };
  const w = res.window;
  if (w !== undefined)
    md['window'] = `${w.start ?? ''} to ${w.end}, ${w.intervals} intervals of ${w.interval}`;
  if (res.scorecard !== undefined) md['scorecard'] = reasonText(Scorecard_Reason[res.scorecard.reason]);
  for (const c of res.checks) {
    const p = `${c.name}.`;
    md[`${p}verdict`] = `${VERDICT_TEXT[c.verdict] ?? ''} (${reasonText(Reason[c.reason])})`;
    if (c.canary !== undefined) md[`${p}canary`] = sideText(c.canary);
    if (c.stable !== undefined) md[`${p}stable`] = sideText(c.stable);
    const e = c.effect;
    if (e?.ratio !== undefined)
      md[`${p}effect`] =
        `ratio ${num(e.ratio)} [${num(e.lower ?? 0)}, ${num(e.upper ?? 0)}] at ${num(100 * e.confidence)}%`;
    if (c.evidence !== undefined)
      md[`${p}eValue`] = `${num(c.evidence.eValue)} (fails at ${num(c.evidence.threshold)})`;
    if (c.power !== undefined)
      md[`${p}power`] =
        `${num(c.power.achieved)} (needs ${num(c.power.required)} against ${num(c.power.criticalEffect)}×)`;
    if (c.settle?.minutes !== undefined) md[`${p}settleMinutes`] = num(c.settle.minutes);
    const g = c.gauge;
    if (g !== undefined) {
      const opt = (v: number | undefined, none: string) => (v === undefined ? none : num(v));
      md[`${p}gauge`] =
        `canary median ${opt(g.canary?.median, 'n/a')} vs stable ${opt(g.stable?.median, 'n/a')}, ` +
        `degradation ${opt(g.estimate, 'n/a')} [${opt(g.lower, '-Inf')}, ${opt(g.upper, '+Inf')}] (${g.scale}, tolerance ${num(g.tolerance)})`;
      if (g.fail !== undefined)
        md[`${p}eValue`] = `${num(g.fail.maxEValue)} (fails at ${num(g.fail.threshold)})`;
      if (g.serialDependence?.suspected === true)
        md[`${p}serialDependence`] = `suspected (runs test z ${num(g.serialDependence.z)})`;
    }
    if (c.error !== undefined) md[`${p}error`] = `${c.error.code}: ${c.error.message}`;
  }
  return { verdict, score: res.score, summary: res.summary, metadata: md };
}

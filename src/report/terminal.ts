/**
 * The report as text for a terminal: where the Rollout stands, each check's verdict with its
 * counts, effect, evidence and power, and what would end the pause, then the two commands a
 * person chooses between. Pure: a snapshot and the judge's answer in, lines out.
 */
import type { AnalysisResult, CheckResult, GaugeEvidenceRecord } from '../judge/types.js';
import type { Snapshot } from './snapshot.js';

const pct = (bad: number, n: number): string => (n > 0 ? `${((100 * bad) / n).toPrecision(2)}%` : 'n/a');
const num = (v: number): string =>
  Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-2)
    ? v.toExponential(1)
    : String(Number(v.toPrecision(3)));

/** A request count as people read it: whole (increase() extrapolates to fractions). */
const count = (v: number): string => String(Math.round(v));

function minutesBetween(from: string, to: Date): number {
  return Math.max(0, Math.round((to.getTime() - Date.parse(from)) / 60_000));
}

/** "leaning worse" when the e-value is clearly climbing, "no lean" otherwise. */
export function lean(c: CheckResult): string {
  const t = c.timeline ?? [];
  if (t.length < 2) return '';
  const first = t[Math.floor(t.length / 2)]?.eValue ?? 1;
  const last = t.at(-1)?.eValue ?? 1;
  if (last >= 3 && last > 2 * first) return 'evidence of a regression is growing';
  if (last < 1) return 'the data so far favour no regression';
  return 'no clear lean';
}

/**
 * A check that no traffic can pass at its parameters: the stable side has no bad request (at
 * every edge), so the ratio has no baseline, and the check states no absolute tolerance. The
 * judge's summary says so too; here it is read from the answer's numbers.
 */
export function needsCriticalIncrease(c: CheckResult): boolean {
  if (c.reason !== 'insufficient_data' || criticalIncreaseOf(c) > 0 || c.gauge !== undefined) return false;
  const stables = c.edges === undefined ? [c.stable] : c.edges.map((e) => e.stable);
  return stables.every((s) => s !== null && !(s.bad > 0));
}

/** A gauge check's record: the two sides' medians, the degradation with its bounds, the evidence. */
function gaugeLines(g: GaugeEvidenceRecord): string[] {
  const d = g.degradation;
  const out = [
    `    values: canary median ${g.canary.median === null ? '?' : num(g.canary.median)} vs stable median ${g.stable.median === null ? '?' : num(g.stable.median)} over ${g.intervals} paired intervals (${g.unpaired.canaryOnly + g.unpaired.stableOnly} unpaired)`,
    `    degradation (${d.scale}): ${d.estimate === null ? '?' : num(d.estimate)} [${d.lower === null ? '-∞' : num(d.lower)}, ${d.upper === null ? '∞' : num(d.upper)}]`,
    `    evidence: e-value ${num(g.fail.maxEValue)} of ${num(g.fail.threshold)} to fail, ${num(g.pass.maxEValue)} of ${num(g.pass.threshold)} to pass`,
  ];
  if (g.serialDependence?.suspected === true)
    out.push(
      `    serial dependence suspected (runs test z ${num(g.serialDependence.z)}): the false-Fail rate may exceed alpha`,
    );
  if (g.problem !== undefined) out.push(`    data: ${g.problem}`);
  return out;
}

/** A count check's absolute tolerance (0 when it has none, as for a gauge check). */
function criticalIncreaseOf(c: CheckResult): number {
  return 'criticalIncrease' in c.params ? c.params.criticalIncrease : 0;
}

function checkLines(c: CheckResult): string[] {
  const lines = [`  ${c.name} (${c.type}): ${c.verdict} — ${c.reason.replaceAll('_', ' ')}`];
  if (c.canary !== null && c.stable !== null)
    lines.push(
      `    counts: canary ${pct(c.canary.bad, c.canary.requests)} (${count(c.canary.bad)}/${count(c.canary.requests)}) vs stable ${pct(c.stable.bad, c.stable.requests)} (${count(c.stable.bad)}/${count(c.stable.requests)})`,
    );
  if (c.effect !== null && c.effect.ratio !== null)
    lines.push(
      `    effect: ratio ${num(c.effect.ratio)} [${c.effect.lower === null ? '?' : num(c.effect.lower)}, ${c.effect.upper === null ? '∞' : num(c.effect.upper)}] (${Math.round(c.effect.confidence * 100)}%)`,
    );
  if (c.evidence !== null)
    lines.push(
      `    evidence: e-value ${num(c.evidence.eValue)} of ${num(c.evidence.threshold)} to fail${lean(c) === '' ? '' : `; ${lean(c)}`}`,
    );
  if (c.power !== null)
    lines.push(
      `    power: ${c.power.achieved.toFixed(2)} of ${c.power.required} needed to rule out ${num(c.power.criticalEffect)}×${criticalIncreaseOf(c) > 0 ? ` (or +${num(criticalIncreaseOf(c) * 100)} pp)` : ''}`,
    );
  if (c.gauge !== undefined) lines.push(...gaugeLines(c.gauge));
  if (needsCriticalIncrease(c))
    lines.push(
      '    to settle: no traffic will while the stable has no bad request; set criticalIncrease (e.g. 0.001 = +0.1 pp) to let a clean canary pass',
    );
  else if (c.settleMinutes !== undefined)
    lines.push(
      c.settleMinutes === null
        ? '    to settle: more than a day at this traffic'
        : `    to settle: about ${Math.ceil(c.settleMinutes)} more minutes at this traffic`,
    );
  if (c.error !== undefined) lines.push(`    error: ${c.error.code}: ${c.error.message}`);
  return lines;
}

/** What would end the pause, in one sentence. */
export function whatEndsIt(s: Snapshot, r: AnalysisResult): string {
  if (s.outcome === 'aborted')
    return 'The Rollout is aborted: the canary is at 0%. Fix the release and push a new version.';
  if (s.outcome === 'promoted')
    return `The Rollout is fully promoted: the canary is the stable now, on the evidence above (the judge's ${r.verdict} up to its last analysis).`;
  if (r.verdict === 'Fail')
    return 'The judge sees a regression: abort (the next analysis will fail the step by itself).';
  if (r.verdict === 'Pass')
    return 'The judge passes the canary over its whole life: promoting is what the analysis would do.';
  const waits = r.checks.map((c) => c.settleMinutes).filter((m): m is number => typeof m === 'number');
  if (waits.length > 0)
    return `Inconclusive: about ${Math.ceil(Math.max(...waits))} more minutes of traffic like the recent one would settle it, if the canary behaves like the stable.`;
  if (r.checks.some(needsCriticalIncrease))
    return 'Inconclusive: a check sees no bad request on the stable side and states no absolute tolerance, so no wait will settle it; decide on the numbers above, and set criticalIncrease (the critical-increase argument of the templates) for the next release.';
  if (r.checks.some((c) => c.reason === 'suspected_regression'))
    return 'Inconclusive and held: the canary looks worse than allowed but not yet provably so; more traffic, or abort.';
  return 'Inconclusive: the traffic is too thin to settle within a day; decide on the numbers above.';
}

/** "step 4/9 (analysis …)", or "all 9 steps done" once Argo has walked past the last one. */
export function stepLine(s: Snapshot): string {
  if (s.currentStep === null) return `step ?/${s.steps.length}`;
  if (s.currentStep >= s.steps.length) return `all ${s.steps.length} steps done`;
  const step = s.steps[s.currentStep];
  return `step ${s.currentStep + 1}/${s.steps.length}${step === undefined ? '' : ` (${step.text})`}`;
}

export function renderTerminal(s: Snapshot, r: AnalysisResult, now: Date = new Date()): string {
  const out: string[] = [];
  const { name, namespace } = s.rollout;
  out.push(
    `Rollout ${namespace}/${name}: ${s.phase}${s.paused ? ' (paused)' : ''}${s.outcome === 'aborted' ? ' (aborted)' : ''}${s.message === '' ? '' : ` — ${s.message}`}`,
  );
  out.push(`  ${stepLine(s)}, canary weight ${s.currentWeight ?? '?'}%`);
  out.push(
    `  canary ${s.canaryHash ?? '?'} vs stable ${s.stableHash ?? '?'}${s.canarySince === null ? '' : `, canary alive ${minutesBetween(s.canarySince, now)} min (since ${s.canarySince})`}`,
  );
  if (s.weights.length > 0)
    out.push(`  weights: ${s.weights.map((w) => `${w.weight}% from ${w.from.slice(11, 19)}`).join(', ')}`);
  for (const run of s.runs)
    out.push(
      `  run ${run.name} (${run.type}${run.stepIndex === null ? '' : `, step ${run.stepIndex + 1}`}): ${run.phase}${run.last.length > 0 ? ` — ${run.last.map((m) => `${m.metric} ${m.phase}`).join(', ')}` : ''}`,
    );
  out.push('');
  const upTo =
    s.outcome === null || s.evidenceEnd === null
      ? ''
      : ` until it was ${s.outcome} (up to the last measurement, ${s.evidenceEnd.slice(11, 19)})`;
  out.push(
    `Judge, over the canary's whole life${upTo} (${r.window.intervals} interval${r.window.intervals === 1 ? '' : 's'} of ${r.window.interval}): ${r.verdict}, score ${r.score}`,
  );
  if (s.judgeRequest !== null)
    out.push(
      `  the request of metric ${s.judgeRequest.metric} of run ${s.judgeRequest.run} (its last measurement: ${s.judgeRequest.lastPhase}), over the canary's life`,
    );
  for (const c of r.checks) out.push(...checkLines(c));
  out.push('');
  out.push(whatEndsIt(s, r));
  out.push('');
  out.push('At a pause a person chooses:');
  out.push(`  kubectl argo rollouts promote ${name} -n ${namespace}`);
  out.push(`  kubectl argo rollouts abort ${name} -n ${namespace}`);
  return out.join('\n') + '\n';
}

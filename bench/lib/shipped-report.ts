/**
 * Summaries, markdown tables and the targets (promotion, rollback, tolerance) for the shipped-Rollout benchmark.
 */
import type { Cell } from './shipped-grid.js';
import { GRID, shapeLabel } from './shipped-grid.js';
import type { ShippedPlan } from './shipped-plan.js';
import type { Culprit, RunOutcome } from './shipped-sim.js';
import { shareSlowerThan } from './shipped-traffic.js';
import { dist } from './summary.js';

export interface GateSummary {
  readonly weight: number;
  readonly maxLooks: number;
  /** Share of all runs whose gate passed. */
  readonly passed: number;
  /** Share of all runs that reached the gate. */
  readonly reached: number;
  /** Median minutes from the gate's start to its Pass, over the runs it passed. */
  readonly medianMinutesPassed: number | null;
  /** Of the runs that reached it: share passed within max-wait, and median minutes with "never" as ∞ (null when < 50% passed). */
  readonly passedOfReached: number | null;
  readonly medianMinutesNeeded: number | null;
  /** Of the runs that reached it and did not pass: which check held it. */
  readonly heldBy: Readonly<Record<Culprit, number>>;
}

/** The check's bad rate per side, and at which gates the canary is beyond the step's tolerance. */
export interface Truth {
  /** 'error-rate' for errors, 'latency over <ms>' per threshold for latency. */
  readonly measures: readonly { readonly what: string; readonly stable: number; readonly canary: number }[];
  /** Per gate: canary bad rate > max(criticalEffect × stable, stable + criticalIncrease) for some measure. */
  readonly beyondTolerance: readonly boolean[];
}

export interface CellSummary {
  readonly key: string;
  readonly family: Cell['family'];
  readonly change: string;
  readonly rps: number;
  readonly pStable: number;
  readonly pCanary: number;
  readonly shape: string;
  readonly seed: number;
  readonly n: number;
  readonly rolledBack: number;
  readonly promoted: number;
  readonly person: number;
  /** Share of all runs rolled back while the canary was at ≤ 5%. */
  readonly rolledBackAtOrBelow5: number;
  /** Share of all runs rolled back by minute 3. */
  readonly rolledBackWithin3: number;
  readonly medianRollbackMinute: number | null;
  readonly medianRollbackWeight: number | null;
  /** Over the runs not rolled back. */
  readonly medianMinutesTo100: number | null;
  /** Of the rollbacks: which check failed the card. */
  readonly failedBy: Readonly<Record<Culprit, number>>;
  readonly gates: readonly GateSummary[];
  /** The latency check's bucket edge(s), ms, most common over the runs' last looks. */
  readonly latencyThresholdsMs: readonly number[];
  readonly truth: Truth;
  readonly guardVerified: number;
  readonly guardMismatches: number;
  /** CPU time of the cell's runs, ms. */
  readonly cpuMs: number;
}

const median = (values: number[]): number | null => dist(values).median;
/** The lower median: a value that occurred (for weights, where 3% between 1% and 5% would mislead). */
function lowerMedian(values: number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)] as number;
}

function culprits(list: (Culprit | null)[]): Record<Culprit, number> {
  const n = list.filter((c) => c !== null).length;
  const share = (c: Culprit): number => (n === 0 ? 0 : list.filter((x) => x === c).length / n);
  return { 'error-rate': share('error-rate'), latency: share('latency'), both: share('both') };
}

function mostCommon(lists: (readonly number[])[]): number[] {
  const counts = new Map<string, number>();
  for (const l of lists) counts.set(JSON.stringify(l), (counts.get(JSON.stringify(l)) ?? 0) + 1);
  let best = '[]';
  let bestN = -1;
  for (const [k, v] of counts) if (v > bestN && k !== '[]') [best, bestN] = [k, v];
  return JSON.parse(best) as number[];
}

/** Per gate, where the canary's true bad rate stands against the step's tolerance. */
export type ToleranceStatus = 'within' | 'at' | 'beyond';

/** max(criticalEffect × stable, stable + criticalIncrease) per gate, against each measure. */
export function toleranceStatus(
  family: Cell['family'],
  measures: Truth['measures'],
  plan: ShippedPlan,
): ToleranceStatus[] {
  return plan.stages.flatMap((st) => {
    if (st.kind !== 'gate') return [];
    if (family === 'identical') return ['within' as const];
    const p = family === 'latency' ? st.card.latency : st.card.errorRate;
    const inc = (p as { criticalIncrease?: number }).criticalIncrease ?? 0;
    const status = measures.map((m): ToleranceStatus => {
      const tol = Math.max(p.criticalEffect * m.stable, m.stable + inc);
      // "At": equal up to rounding (e.g. p + 0.001 against a tolerance of + 0.1 pp).
      if (Math.abs(m.canary - tol) <= 1e-9 * Math.max(tol, 1e-12)) return 'at';
      return m.canary > tol ? 'beyond' : 'within';
    });
    return [status.includes('beyond') ? 'beyond' : status.includes('at') ? 'at' : 'within'];
  });
}

function truthOf(cell: Cell, plan: ShippedPlan, thresholds: readonly number[]): Truth {
  const s = cell.scenario;
  const measures =
    cell.family === 'latency'
      ? thresholds.map((ms) => ({
          what: `latency over ${ms} ms`,
          stable: shareSlowerThan(ms, s.shape, { kind: 'none' }),
          canary: shareSlowerThan(ms, s.shape, s.latency),
        }))
      : [{ what: 'error-rate', stable: s.pStable, canary: s.pCanary }];
  return {
    measures,
    beyondTolerance: toleranceStatus(cell.family, measures, plan).map((t) => t === 'beyond'),
  };
}

export function summarizeCell(
  cell: Cell,
  seed: number,
  plan: ShippedPlan,
  outcomes: readonly RunOutcome[],
  cpuMs: number,
): CellSummary {
  const n = outcomes.length;
  const rb = outcomes.filter((o) => o.decision === 'rollback');
  const done = outcomes.filter((o) => o.decision !== 'rollback');
  const gateStages = plan.stages.filter((s) => s.kind === 'gate');
  const gates: GateSummary[] = gateStages.map((g, i) => {
    const reached = outcomes.filter((o) => o.gatesReached > i);
    const passedMins = outcomes.map((o) => o.gatePass[i]).filter((v): v is number => typeof v === 'number');
    const needed = reached.map((o) => o.gatePass[i] ?? Number.POSITIVE_INFINITY);
    const med = median(needed);
    const notPassed = reached.filter((o) => o.gatePass[i] === null && o.heldBy[i] !== null);
    return {
      weight: g.weight,
      maxLooks: g.kind === 'gate' ? g.maxLooks : 0,
      passed: passedMins.length / n,
      reached: reached.length / n,
      medianMinutesPassed: median(passedMins),
      passedOfReached: reached.length === 0 ? null : passedMins.length / reached.length,
      medianMinutesNeeded: med !== null && Number.isFinite(med) ? med : null,
      heldBy: culprits(notPassed.map((o) => o.heldBy[i] ?? null)),
    };
  });
  const thresholds = mostCommon(outcomes.map((o) => o.latencyThresholdsMs));
  return {
    key: cell.key,
    family: cell.family,
    change: cell.change,
    rps: cell.scenario.rps,
    pStable: cell.scenario.pStable,
    pCanary: cell.scenario.pCanary,
    shape: shapeLabel(cell.scenario.shape),
    seed,
    n,
    rolledBack: rb.length / n,
    promoted: outcomes.filter((o) => o.decision === 'promoted').length / n,
    person: outcomes.filter((o) => o.decision === 'person').length / n,
    rolledBackAtOrBelow5: rb.filter((o) => o.weight <= 5).length / n,
    rolledBackWithin3: rb.filter((o) => o.minute <= 3).length / n,
    medianRollbackMinute: median(rb.map((o) => o.minute)),
    medianRollbackWeight: lowerMedian(rb.map((o) => o.weight)),
    medianMinutesTo100: median(done.map((o) => o.minute)),
    failedBy: culprits(rb.map((o) => o.failedBy)),
    gates,
    latencyThresholdsMs: thresholds,
    truth: truthOf(cell, plan, thresholds),
    guardVerified: outcomes.reduce((s, o) => s + o.guardVerified, 0),
    guardMismatches: outcomes.reduce((s, o) => s + o.guardMismatches, 0),
    cpuMs,
  };
}

export const pct = (x: number | null): string => (x === null ? '–' : `${(100 * x).toFixed(1)}%`);
const num = (x: number | null, digits = 0): string => (x === null ? '–' : x.toFixed(digits));
const rate = (x: number): string =>
  x === 0 ? '0' : x >= 0.01 ? `${(100 * x).toPrecision(3)}%` : `${(100 * x).toPrecision(2)}%`;

function failedByText(s: CellSummary): string {
  if (s.rolledBack === 0) return '–';
  const f = s.failedBy;
  const share = (x: number): string =>
    x < 0.01 ? '<1%' : x > 0.99 && x < 1 ? '>99%' : `${Math.round(100 * x)}%`;
  const parts = [
    f['error-rate'] > 0 ? `err ${share(f['error-rate'])}` : '',
    f.latency > 0 ? `lat ${share(f.latency)}` : '',
    f.both > 0 ? `both ${share(f.both)}` : '',
  ].filter((x) => x !== '');
  return parts.join(', ');
}

function gateCell(g: GateSummary): string {
  return `${pct(g.passed)} · ${num(g.medianMinutesPassed)}`;
}

function cellLabel(s: CellSummary): string {
  switch (s.family) {
    case 'identical':
      return `R=${s.rps} p=${s.pStable} ${s.shape}`;
    case 'errors':
      return `${s.change} R=${s.rps} p=${s.pStable}`;
    case 'latency':
      return `${s.change} R=${s.rps} ${s.shape}`;
  }
}

function beyondText(s: CellSummary, plan: ShippedPlan): string {
  const gates = plan.stages.filter((g) => g.kind === 'gate');
  const status = toleranceStatus(s.family, s.truth.measures, plan);
  const names = status
    .map((t, i) => (t === 'beyond' ? `${gates[i]?.weight}%` : t === 'at' ? `(${gates[i]?.weight}% at)` : ''))
    .filter((x) => x !== '');
  return names.length === 0 ? 'none' : names.join(' ');
}

function truthText(s: CellSummary): string {
  return s.truth.measures
    .map(
      (m) =>
        `${m.what === 'error-rate' ? '' : `>${m.what.replace('latency over ', '').replace(' ms', '')}ms `}${rate(m.stable)}→${rate(m.canary)}`,
    )
    .join('; ');
}

/** The per-cell table of one family. */
export function cellTable(summaries: readonly CellSummary[], plan: ShippedPlan): string {
  const gates = plan.stages.filter((g) => g.kind === 'gate');
  const family = summaries[0]?.family;
  const extra = family === 'identical' ? [] : ['bad rate stable→canary', 'beyond tolerance at'];
  const head = [
    'cell',
    ...extra,
    'rolled back',
    'promoted automatically',
    'needed a person',
    'rolled back at ≤ 5%',
    'minute of rollback',
    'weight at rollback',
    'failed by',
    'minutes to 100%',
    ...gates.map((g) => `${g.weight}% gate passed · min`),
  ];
  const rows = summaries.map((s) =>
    [
      cellLabel(s),
      ...(family === 'identical' ? [] : [truthText(s), beyondText(s, plan)]),
      pct(s.rolledBack),
      pct(s.promoted),
      pct(s.person),
      pct(s.rolledBackAtOrBelow5),
      num(s.medianRollbackMinute),
      s.medianRollbackWeight === null ? '–' : `${num(s.medianRollbackWeight)}%`,
      failedByText(s),
      num(s.medianMinutesTo100),
      ...s.gates.map(gateCell),
    ].join(' | '),
  );
  const align = head.map((_, i) => (i === 0 || (family !== 'identical' && i <= 2) ? '---' : '---:'));
  return [`| ${head.join(' | ')} |`, `|${align.join('|')}|`, ...rows.map((r) => `| ${r} |`)].join('\n');
}

/** Operators' sizing: identical release at the sizing shape, per R × p, minutes each gate needs. */
export function sizingTable(summaries: readonly CellSummary[], plan: ShippedPlan): string {
  const gates = plan.stages.filter((g) => g.kind === 'gate');
  const shape = shapeLabel(GRID.errorShape);
  const rows = summaries.filter((s) => s.family === 'identical' && s.shape === shape);
  if (rows.length === 0) return '';
  const head = [
    'R (req/s)',
    'stable 5xx rate',
    ...gates.map((g) => `${g.weight}% gate (max-wait ${g.kind === 'gate' ? g.maxLooks : 0})`),
  ];
  const body = rows.map((s) => {
    const cells = s.gates.map((g) => {
      if (g.passedOfReached === null) return '–';
      if (g.passedOfReached < 0.5) return `cannot suffice (${pct(g.passedOfReached)} pass)`;
      return `${num(g.medianMinutesNeeded)} min (${pct(g.passedOfReached)} pass)`;
    });
    return `| ${s.rps} | ${s.pStable} | ${cells.join(' | ')} |`;
  });
  return [`| ${head.join(' | ')} |`, `|---:|---:|${gates.map(() => '---').join('|')}|`, ...body].join('\n');
}

export interface TargetResult {
  readonly target: string;
  readonly met: boolean;
  readonly detail: string;
}

export function checkTargets(summaries: readonly CellSummary[], plan: ShippedPlan): TargetResult[] {
  const out: TargetResult[] = [];
  const identical = summaries.filter((s) => s.family === 'identical');
  const minBy = (cells: readonly CellSummary[], f: (s: CellSummary) => number): string => {
    if (cells.length === 0) return '';
    const s = [...cells].sort((a, b) => f(a) - f(b))[0] as CellSummary;
    return `lowest ${pct(f(s))} (${cellLabel(s)})`;
  };
  const maxBy = (cells: readonly CellSummary[], f: (s: CellSummary) => number): string => {
    if (cells.length === 0) return '';
    const s = [...cells].sort((a, b) => f(b) - f(a))[0] as CellSummary;
    return `highest ${pct(f(s))} (${cellLabel(s)})`;
  };
  const push = (
    target: string,
    cells: readonly CellSummary[],
    ok: (s: CellSummary) => boolean,
    f: (s: CellSummary) => number,
    best: 'min' | 'max',
    show?: (s: CellSummary) => string,
  ): void => {
    if (cells.length === 0) {
      out.push({ target, met: false, detail: 'no cell of this run covers it' });
      return;
    }
    const bad = cells.filter((s) => !ok(s));
    const fmt = show ?? ((s: CellSummary) => pct(f(s)));
    out.push({
      target,
      met: bad.length === 0,
      detail:
        `${cells.length} cells, ${best === 'min' ? minBy(cells, f) : maxBy(cells, f)}` +
        (bad.length === 0
          ? ''
          : `; ${bad.length} miss: ${bad.map((s) => `${cellLabel(s)} ${fmt(s)}`).join(', ')}`),
    });
  };
  push(
    'identical releases promoted automatically ≥ 97% at R = 100 (every p and shape)',
    identical.filter((s) => s.rps === 100),
    (s) => s.promoted >= 0.97,
    (s) => s.promoted,
    'min',
  );
  push(
    'identical releases promoted automatically ≥ 99% at R = 1000',
    identical.filter((s) => s.rps === 1000),
    (s) => s.promoted >= 0.99,
    (s) => s.promoted,
    'min',
  );
  push(
    'false rollback of identical releases ≤ 1% in every cell',
    identical,
    (s) => s.rolledBack <= 0.01,
    (s) => s.rolledBack,
    'max',
  );
  const beyond = summaries.filter((s) => s.family !== 'identical' && s.truth.beyondTolerance.some((b) => b));
  const atOnly = summaries.filter(
    (s) =>
      s.family !== 'identical' &&
      !s.truth.beyondTolerance.some((b) => b) &&
      toleranceStatus(s.family, s.truth.measures, plan).includes('at'),
  );
  push(
    "no regression beyond its step's tolerance promoted automatically in > 1%",
    beyond,
    (s) => s.promoted <= 0.01,
    (s) => s.promoted,
    'max',
  );
  push(
    'regressions exactly at a step\'s tolerance (the floor\'s guarantee covers "at or beyond") promoted automatically in ≤ 1%',
    atOnly,
    (s) => s.promoted <= 0.01,
    (s) => s.promoted,
    'max',
  );
  const errs = (label: string): CellSummary[] =>
    summaries.filter((s) => s.family === 'errors' && s.change === label && s.pStable >= 1e-3);
  push(
    '5× errors (p ≥ 1e-3) rolled back before the canary leaves 5% in ≥ 95%',
    errs('×5'),
    (s) => s.rolledBackAtOrBelow5 >= 0.95,
    (s) => s.rolledBackAtOrBelow5,
    'min',
  );
  push(
    '2× errors (p ≥ 1e-3) rolled back in ≥ 99%',
    errs('×2'),
    (s) => s.rolledBack >= 0.99,
    (s) => s.rolledBack,
    'min',
  );
  const lat2 = summaries.filter((s) => s.family === 'latency' && s.change === '×2 slower' && s.rps >= 100);
  push(
    'latency 2× slower rolled back within 3 minutes at R ≥ 100 (median minute of rollback ≤ 3, every run rolled back)',
    lat2,
    (s) => s.rolledBack >= 1 && s.medianRollbackMinute !== null && s.medianRollbackMinute <= 3,
    (s) => s.rolledBackWithin3,
    'min',
    (s) =>
      `rolled back ${pct(s.rolledBack)}, median minute ${num(s.medianRollbackMinute)}, ${pct(s.rolledBackWithin3)} by minute 3`,
  );
  const tail = summaries.filter((s) => s.family === 'latency' && s.change.startsWith('tail'));
  push(
    'tail-only latency regressions rolled back ≥ 95% (every shape and R)',
    tail,
    (s) => s.rolledBack >= 0.95,
    (s) => s.rolledBack,
    'min',
  );
  return out;
}

export function targetLines(targets: readonly TargetResult[]): string {
  return targets.map((t) => `- ${t.target}: **${t.met ? 'met' : 'not met'}** — ${t.detail}`).join('\n');
}

/** What a run records about itself, for the header of its tables. */
export interface RunMeta {
  readonly command: string;
  readonly date: string;
  readonly node: string;
  readonly n: number;
  readonly seed: number;
  readonly jobs: number;
  readonly guard: string;
  readonly seconds: number;
  readonly cpuSeconds: number;
  readonly srcCommit: string;
  readonly srcDirty: boolean;
  readonly planCommit?: string;
  readonly planDirty?: boolean;
}

export function planText(plan: ShippedPlan): string {
  const stages = plan.stages
    .map((s) =>
      s.kind === 'gate'
        ? `${s.weight}% gate (critical ${s.card.errorRate.criticalEffect}×${(s.card.errorRate.criticalIncrease ?? 0) > 0 ? ` / +${s.card.errorRate.criticalIncrease}` : ''}, ≤ ${s.maxLooks} looks)`
        : `${s.weight}% pause ${s.minutes} min`,
    )
    .join(' → ');
  return `${stages}; the guard from step ${plan.guard?.startingStep ?? '–'}; α per check ${plan.checkAlpha}`;
}

/** The markdown a run prints: header, per-cell tables, the sizing table and the targets. */
export function renderReport(
  meta: RunMeta,
  summaries: readonly CellSummary[],
  plan: ShippedPlan,
  targets: readonly TargetResult[],
): string {
  const verified = summaries.reduce((s, c) => s + c.guardVerified, 0);
  const mismatches = summaries.reduce((s, c) => s + c.guardMismatches, 0);
  const out: string[] = [];
  out.push(
    `Command: \`${meta.command}\` — ${meta.date.slice(0, 16).replace('T', ' ')} UTC, ${meta.node}, N = ${meta.n} per cell, master seed ${meta.seed} ` +
      `(cell seed = FNV-1a of "${meta.seed}|<cell key>", run i = stream i), ${summaries.length} cells, ${meta.jobs} processes: ` +
      `${meta.seconds.toFixed(0)} s wall, ${meta.cpuSeconds.toFixed(0)} s CPU. ` +
      `Decision code: src/ at ${meta.srcCommit}${meta.srcDirty ? ' plus uncommitted changes' : ''}` +
      (meta.planCommit === undefined
        ? '.'
        : `; plan: rollouts/catalogo and analysis-templates at ${meta.planCommit}${meta.planDirty === true ? ' plus uncommitted changes' : ''}.`),
    '',
    `Plan: ${planText(plan)}.`,
    `Guard: ${meta.guard}${meta.guard === 'shared' ? ` (its own card judged at ${verified} gate minutes as a check: ${mismatches} disagreement(s) with the gate's Fail)` : ''}.`,
    '',
    'Shares are of all N runs; minutes are medians, since the canary got its first traffic (rollback, 100%) or since the gate started (gate · min, over the runs it passed). ' +
      '"failed by": which check failed the card, of the rollbacks. "rolled back at ≤ 5%": before the canary left the 5% step. ' +
      '"beyond tolerance at": the gates whose tolerance the canary exceeds ("at": exactly on it).',
  );
  const families: [Cell['family'], string][] = [
    ['identical', 'Identical releases'],
    ['errors', `Error regressions (latency shape ${shapeLabel(GRID.errorShape)})`],
    ['latency', `Latency regressions (stable 5xx rate ${GRID.latencyP})`],
  ];
  for (const [f, title] of families) {
    const rows = summaries.filter((s) => s.family === f);
    if (rows.length > 0) out.push('', `### ${title}`, '', cellTable(rows, plan));
  }
  const sizing = sizingTable(summaries, plan);
  if (sizing !== '') {
    out.push(
      '',
      `### Sizing: minutes each gate needs (identical release, latency ${shapeLabel(GRID.errorShape)})`,
      '',
      'Median minutes from the gate\'s start to its Pass, of the rollouts that reached it (a gate that never passes counts as never); in brackets the share that passed within max-wait. "cannot suffice": fewer than half pass within max-wait.',
      '',
      sizing,
    );
  }
  out.push('', '### Targets', '', targetLines(targets));
  return out.join('\n');
}

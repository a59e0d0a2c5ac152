/** Renders a benchmark report as the markdown tables of bench/README.md. */
import type { Summary } from './summary.js';

interface ReportLike {
  readonly command: string;
  readonly date: string;
  readonly node: string;
  readonly rollouts: number;
  readonly rules: readonly { name: string; label: string }[];
  readonly scenarios: readonly {
    kind: string;
    rps: number;
    effect: number;
    trueRatio: number;
    rules: Record<string, Summary>;
  }[];
  readonly cpu: { medianMicros: number; p90Micros: number; meanCpuMicros: number; runs: number } | null;
  readonly simulationSeconds: number;
}

const pct = (v: number): string => `${(100 * v).toFixed(1)}%`;
const num = (v: number | null, d = 0): string => (v === null ? '–' : v.toFixed(d));

export function renderMarkdown(r: ReportLike): string {
  const out: string[] = [];
  out.push(
    `Command: \`${r.command}\` — ${r.date.slice(0, 10)}, Node ${r.node}, ${r.rollouts} rollouts per scenario, ${r.simulationSeconds.toFixed(0)} s.`,
  );
  out.push('');
  out.push(
    'Time and blast radius are medians (p90 in brackets) over the rolled-back runs; time is minutes since the rollout started; blast radius = expected extra bad requests the canary caused before the rollback.',
  );
  out.push('');
  out.push(
    '| scenario | rule | rollback | promoted | inconclusive | time to rollback | weight at rollback | blast radius | rolled back ≤ step 2 |',
  );
  out.push('|---|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const sc of r.scenarios) {
    const name = `${sc.kind === 'errors' ? 'errors' : 'latency'} R=${sc.rps} ${sc.kind === 'errors' ? `k=${sc.effect}` : `slower×${sc.effect} (ratio ${sc.trueRatio.toFixed(2)})`}`;
    for (const rule of r.rules) {
      const s = sc.rules[rule.name];
      if (s === undefined) continue;
      out.push(
        `| ${name} | ${rule.name} | ${pct(s.rollbackRate)} | ${pct(s.promotedRate)} | ${pct(s.inconclusiveRate)} | ${num(s.timeToRollback.median)} (${num(s.timeToRollback.p90)}) | ${num(s.weightAtRollback.median)}% | ${num(s.blast.median, 1)} (${num(s.blast.p90, 1)}) | ${pct(s.rolledBackByStep2)} |`,
      );
    }
  }
  out.push('');
  out.push(
    'Our per-step analysis: share of runs that reached Pass during the step, and minutes from the step start to the first Pass, median (p90). Steps without a gate (see the command) are listed for information.',
  );
  out.push('');
  const withSteps = r.scenarios.filter((sc) => sc.rules['ours']?.stepPass !== undefined);
  const steps = withSteps[0]?.rules['ours']?.stepPass?.length ?? 0;
  out.push(
    `| scenario | every gate passed, no Fail | ${Array.from({ length: steps }, (_, i) => `step ${i + 1}`).join(' | ')} |`,
  );
  out.push(`|---|---:|${Array.from({ length: steps }, () => '---:').join('|')}|`);
  for (const sc of withSteps) {
    const s = sc.rules['ours'] as Summary;
    const cells = (s.stepPass ?? []).map(
      (p) => `${pct(p.passedRate)} · ${num(p.minutes.median)} (${num(p.minutes.p90)})`,
    );
    out.push(
      `| ${sc.kind} R=${sc.rps} ${sc.kind === 'errors' ? `k=${sc.effect}` : `slower×${sc.effect}`} | ${pct(s.passedEveryStepRate ?? 0)} | ${cells.join(' | ')} |`,
    );
  }
  if (r.cpu !== null) {
    out.push('');
    out.push(
      `CPU: one analysis of a 60-interval history: median ${r.cpu.medianMicros.toFixed(1)} µs, p90 ${r.cpu.p90Micros.toFixed(1)} µs wall per call; ${r.cpu.meanCpuMicros.toFixed(1)} µs process CPU per call (${r.cpu.runs} runs).`,
    );
  }
  return out.join('\n');
}

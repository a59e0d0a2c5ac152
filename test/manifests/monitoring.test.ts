/**
 * The judge's own monitoring (deploy/canary-judge/monitoring): the PrometheusRule's groups pass
 * `promtool check rules` and the unit tests of test/manifests/promtool (each alert fires where
 * it must and not where it must not), and those tests notice an alert that never fires or
 * fires at once; the Grafana dashboard loads, every panel's PromQL parses (promtool, with the
 * dashboard's variables substituted), and every metric and label that rules and dashboard name
 * is one the judge exports (its own registry, src/observability/metrics.ts).
 */

import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { createMetrics } from '../../src/observability/metrics.js';
import { PROMTOOL_BIN } from '../support/prometheus.js';
import { REPO, objectsOfKind, renderKustomization, type K8sObject } from './lib/files.js';

const run = promisify(execFile);

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
}
type PrometheusRule = K8sObject & { spec: { groups: { name: string; rules: Rule[] }[] } };

interface PromtoolTests {
  rule_files: string[];
  tests: {
    name: string;
    alert_rule_test: { eval_time: string; alertname: string; exp_alerts: unknown[] }[];
  }[];
}

interface Target {
  refId: string;
  expr: string;
}
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  targets?: Target[];
}
interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: { name: string; type: string }[] };
}

const MONITORING = 'deploy/canary-judge/monitoring';
const TESTS_FILE = 'test/manifests/promtool/judge-alerts.test.yaml';
const DASHBOARD_FILE = `${MONITORING}/canary-judge-dashboard.json`;

/** Labels the scrape adds (prometheus-operator target labels, histogram buckets). */
const SCRAPE_LABELS = new Set(['job', 'namespace', 'pod', 'instance', 'service', 'container', 'le']);

/** The judge's metrics, name → label names, from its own registry. */
const judgeMetrics = new Map<string, readonly string[]>();
for (const m of createMetrics('test').registry.getMetricsAsArray()) {
  const labels = (m as unknown as { labelNames?: readonly string[] }).labelNames ?? [];
  judgeMetrics.set(m.name, labels);
  const type = (m as unknown as { type?: string }).type;
  if (type === 'histogram') {
    for (const suffix of ['_bucket', '_sum', '_count']) judgeMetrics.set(`${m.name}${suffix}`, labels);
  }
}

/** Each `canary_judge_*` metric a PromQL text names, with the label names of its matchers. */
function judgeSelectors(expr: string): { metric: string; labels: string[] }[] {
  const out: { metric: string; labels: string[] }[] = [];
  for (const m of expr.matchAll(/\b(canary_judge_[a-z0-9_]+)(\{([^}]*)\})?/g)) {
    const labels = [...(m[3] ?? '').matchAll(/([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)/g)].map((l) => l[1] as string);
    out.push({ metric: m[1] as string, labels });
  }
  return out;
}

function expectKnownToTheJudge(expr: string, where: string): void {
  for (const { metric, labels } of judgeSelectors(expr)) {
    const known = judgeMetrics.get(metric);
    expect(known, `${where}: ${metric} is a metric of the judge`).toBeDefined();
    for (const l of labels)
      expect((known ?? []).includes(l) || SCRAPE_LABELS.has(l), `${where}: ${metric} has no label ${l}`).toBe(
        true,
      );
  }
}

let tmp: string;
let rule: PrometheusRule;
let alerts: Rule[];

async function promtool(...args: string[]): Promise<{ ok: boolean; output: string }> {
  try {
    const { stdout, stderr } = await run(PROMTOOL_BIN, args, { cwd: tmp });
    return { ok: true, output: stdout + stderr };
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    return { ok: false, output: `${err.stdout ?? ''}${err.stderr ?? ''}` || err.message };
  }
}

/** Writes the rule groups where the promtool tests look for them, and runs those tests. */
async function testRules(groups: PrometheusRule['spec']['groups']): Promise<{ ok: boolean; output: string }> {
  writeFileSync(join(tmp, 'rules.yaml'), stringify({ groups }));
  return promtool('test', 'rules', 'judge-alerts.test.yaml');
}

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'canary-judge-monitoring-'));
  copyFileSync(join(REPO, TESTS_FILE), join(tmp, 'judge-alerts.test.yaml'));
  const rules = objectsOfKind<PrometheusRule>(renderKustomization(MONITORING).objects, 'PrometheusRule');
  expect(rules).toHaveLength(1);
  rule = rules[0] as PrometheusRule;
  alerts = rule.spec.groups.flatMap((g) => g.rules).filter((r) => r.alert !== undefined);
});
afterAll(() => {
  if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
});

describe('the judge PrometheusRule', () => {
  it('holds the alerts on 5xx answers, Prometheus errors, the deadline, busy slots and a down judge', () => {
    expect(alerts.map((a) => a.alert).sort()).toEqual([
      'CanaryJudgeAllSlotsBusy',
      'CanaryJudgeAnalysesNearDeadline',
      'CanaryJudgeDown',
      'CanaryJudgeGRPCServerErrors',
      'CanaryJudgeHTTPServerErrors',
      'CanaryJudgePrometheusQueryErrors',
    ]);
  });

  it('passes promtool check rules', async () => {
    writeFileSync(join(tmp, 'check.yaml'), stringify({ groups: rule.spec.groups }));
    const r = await promtool('check', 'rules', 'check.yaml');
    expect(r.output).toContain(`SUCCESS: ${alerts.length} rules found`);
    expect(r.ok).toBe(true);
  });

  it('names only metrics and labels the judge exports', () => {
    for (const a of alerts) expectKnownToTheJudge(a.expr, a.alert as string);
  });

  it('passes its promtool unit tests', async () => {
    const r = await testRules(rule.spec.groups);
    expect(r.output).toContain('SUCCESS');
    expect(r.ok).toBe(true);
  });

  it('has a unit test per alert that sees it fire and one that sees it quiet', () => {
    const tests = parse(readFileSync(join(REPO, TESTS_FILE), 'utf8')) as PromtoolTests;
    expect(tests.rule_files).toEqual(['rules.yaml']);
    const cases = tests.tests.flatMap((t) => t.alert_rule_test);
    for (const a of alerts) {
      const mine = cases.filter((c) => c.alertname === a.alert);
      expect(
        mine.some((c) => c.exp_alerts.length > 0),
        `${a.alert} fires in some test`,
      ).toBe(true);
      expect(
        mine.some((c) => c.exp_alerts.length === 0),
        `${a.alert} stays quiet in some test`,
      ).toBe(true);
    }
  });

  const mutated = (alert: string, change: (r: Rule) => Rule): PrometheusRule['spec']['groups'] =>
    rule.spec.groups.map((g) => ({
      ...g,
      rules: g.rules.map((r) => (r.alert === alert ? change({ ...r }) : r)),
    }));

  it('has unit tests that fail for an alert that never fires', async () => {
    for (const a of alerts) {
      const name = a.alert as string;
      const r = await testRules(mutated(name, (x) => ({ ...x, expr: 'vector(1) == 2' })));
      expect(r.ok, `${name} made silent`).toBe(false);
      expect(r.output).toContain(`alertname: ${name}`);
    }
  });

  it('has unit tests that fail for an alert that fires without waiting or at any level', async () => {
    for (const a of alerts) {
      const name = a.alert as string;
      // Dropping the comparison and the `for`: the alert fires wherever its series exist.
      const r = await testRules(
        mutated(name, (x) => {
          const { for: _ignored, ...rest } = x;
          return { ...rest, expr: x.expr.replace(/\s*(>=|>|==)\s*[\d.]+\s*$/, '') };
        }),
      );
      expect(r.ok, `${name} made trigger-happy`).toBe(false);
      expect(r.output).toContain(`alertname: ${name}`);
    }
  });
});

describe('the Grafana dashboard', () => {
  const dashboard = JSON.parse(readFileSync(join(REPO, DASHBOARD_FILE), 'utf8')) as Dashboard;
  const queryPanels = dashboard.panels.filter((p) => p.type !== 'row');
  const targets = queryPanels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p, target: t })));
  /** What Grafana would send: its variables replaced by values of the same shape. */
  const substituted = (expr: string): string =>
    expr.replaceAll('$__rate_interval', '2m').replaceAll('$namespace', '.*').replaceAll('$job', '.*');

  it('is a dashboard with unique panel ids, each panel querying the chosen Prometheus', () => {
    expect(dashboard.uid).toBe('canary-judge');
    expect(queryPanels.length).toBeGreaterThan(5);
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(dashboard.templating.list.map((v) => v.name)).toEqual(['datasource', 'namespace', 'job']);
    for (const p of queryPanels) {
      expect(p.datasource?.uid, p.title).toBe('${datasource}');
      expect(p.targets?.length ?? 0, p.title).toBeGreaterThan(0);
    }
  });

  it("uses no variable but its own and Grafana's $__rate_interval", () => {
    for (const { panel, target } of targets) {
      expect(substituted(target.expr), `${panel.title} ${target.refId}`).not.toContain('$');
    }
  });

  it("parses every panel's PromQL (promtool check rules)", async () => {
    const rules = targets.map(({ panel, target }) => ({
      record: `dashboard:panel_${panel.id}_${target.refId}`,
      expr: substituted(target.expr),
    }));
    writeFileSync(join(tmp, 'dashboard.yaml'), stringify({ groups: [{ name: 'dashboard', rules }] }));
    const r = await promtool('check', 'rules', 'dashboard.yaml');
    expect(r.output).toContain(`SUCCESS: ${rules.length} rules found`);
    expect(r.ok).toBe(true);
  });

  it('the PromQL check notices a broken query', async () => {
    writeFileSync(
      join(tmp, 'broken.yaml'),
      stringify({ groups: [{ name: 'b', rules: [{ record: 'b:x', expr: 'sum by (le (rate(x[2m]))' }] }] }),
    );
    expect((await promtool('check', 'rules', 'broken.yaml')).ok).toBe(false);
  });

  it('names only metrics and labels the judge exports', () => {
    for (const { panel, target } of targets)
      expectKnownToTheJudge(target.expr, `${panel.title} ${target.refId}`);
  });

  it("shows every one of the judge's own metrics", () => {
    const shown = new Set(targets.flatMap(({ target }) => judgeSelectors(target.expr).map((s) => s.metric)));
    const own = createMetrics('test', { processMetrics: false })
      .registry.getMetricsAsArray()
      .map((m) => m.name);
    for (const name of own)
      expect(
        [name, `${name}_bucket`, `${name}_count`].some((n) => shown.has(n)),
        `${name} on the dashboard`,
      ).toBe(true);
  });
});

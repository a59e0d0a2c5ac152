/**
 * How the Argo Rollouts dashboard shows a measurement's value, for the values our templates
 * store. The logic below is an equivalent of the dashboard's own, derived from Argo Rollouts'
 * `ui/src/app/components/analysis-modal/transforms.ts` (the same in v1.9.1 and v1.10.2):
 * `conditionDetails` finds "condition keys" only for providers listed in its
 * PROVIDER_CONDITION_SUPPORT table (prometheus, datadog, wavefront, newRelic, …) — neither `web`
 * nor `plugin` is there, so both get none — and `transformMeasurementValue` JSON.parses the value,
 * shows nothing for a value that is not JSON, and for any other non-number, non-array value
 * without condition keys shows `parsedValue.toString()`: a JSON string as it is, an object as
 * `[object Object]`.
 *
 * The values are stored measurements: the plugin's was recorded from plugins/metric/test
 * (TestWhenCanaryHealthyThenSuccessfulWithSummaryAsValue); Argo's web provider stores what the
 * template's jsonPath selects through Go's json.Marshal, so `{$.summary}` gives the same JSON
 * string (test/argo checks the stored value is the judge's summary).
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

/** Providers whose conditions yield keys in the dashboard (transforms.ts, PROVIDER_CONDITION_SUPPORT). */
const PROVIDERS_WITH_CONDITION_KEYS = new Set([
  'prometheus',
  'datadog',
  'wavefront',
  'newRelic',
  'cloudWatch',
  'graphite',
  'influxdb',
  'skywalking',
]);

/** The dashboard's provider name: the first key of the metric's provider object. */
const providerName = (provider: Record<string, unknown>): string =>
  Object.keys(provider)[0] ?? 'unsupported provider';

/** Equivalent of transformMeasurementValue's table value, for a provider without condition keys. */
function tableValue(value: string | undefined): string | number | null {
  if (value === undefined || value === '') return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return null; // not JSON: the dashboard shows nothing
  }
  if (typeof parsed === 'number' && Number.isFinite(parsed)) return Math.round(parsed * 100) / 100;
  if (Array.isArray(parsed) && parsed.length > 0) return parsed.map((v) => String(v)).toString();
  return (parsed as { toString(): string }).toString();
}

const root = join(import.meta.dirname, '..', '..');
const template = (file: string) =>
  parse(readFileSync(join(root, 'analysis-templates', file), 'utf8')) as {
    spec: { metrics: { provider: Record<string, unknown> }[] };
  };

// Recorded from the plugin through Argo's plugin client (plugins/metric/test), Pass on healthy data.
const PLUGIN_VALUE =
  '"Pass error-rate: canary 0.98% (703/71720) vs stable 0.99% (2130/215298), ratio 0.99 [0.91, 1.1], e=2.6e-22 below 200, power 1.00 ≥ 0.8 for 2× → no regression; latency over 250ms (edges 250ms, exceeded by ≥ 1% of stable requests, and 500ms, the stable p99\'s): canary 1.9% (1357/71722) vs stable 2.0% (4381/215298), ratio 0.93 [0.87, 0.99], e=2.0e-27 below 200, power 1.00 ≥ 0.8 for 2× → no regression"';

describe('the dashboard shows a measurement value', () => {
  it('finds no condition keys for the plugin templates, as for web', () => {
    for (const file of ['canary-judge-plugin-scorecard.yaml', 'canary-judge-plugin-guard.yaml']) {
      const name = providerName(template(file).spec.metrics[0]?.provider ?? {});
      expect(name).toBe('plugin');
      expect(PROVIDERS_WITH_CONDITION_KEYS.has(name)).toBe(false);
    }
  });

  it("shows the plugin's value as the judge's summary, verdict first", () => {
    const shown = tableValue(PLUGIN_VALUE);
    expect(shown).toBe(JSON.parse(PLUGIN_VALUE));
    expect(String(shown)).toMatch(/^Pass error-rate: canary 0\.98% \(703\/71720\)/);
  });

  it('would show nothing for a plain-text value, which is why the plugin stores a JSON string', () => {
    expect(tableValue(JSON.parse(PLUGIN_VALUE) as string)).toBeNull();
  });

  it("shows the web templates' value, the summary, as text; the object they once selected showed as [object Object]", () => {
    for (const file of [
      'canary-judge-scorecard.yaml',
      'canary-judge-guard.yaml',
      'canary-judge-error-rate.yaml',
      'canary-judge-latency.yaml',
    ]) {
      const provider = template(file).spec.metrics[0]?.provider as { web: { jsonPath: string } };
      expect(PROVIDERS_WITH_CONDITION_KEYS.has(providerName(provider))).toBe(false);
      expect(provider.web.jsonPath, file).toBe('{$.summary}');
    }
    expect(tableValue(PLUGIN_VALUE)).toMatch(/^Pass /);
    expect(tableValue('{"score":100,"summary":"Pass error-rate: …","verdict":"Pass"}')).toBe(
      '[object Object]',
    );
  });
});

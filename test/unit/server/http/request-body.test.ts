import { describe, expect, it } from 'vitest';
import { formatPath } from '../../../../src/judge/request.js';
import { parseRequestBody as parseAnalysisRequest } from '../../../../src/server/http/request-body.js';

const valid = {
  rollout: { name: 'catalogo', namespace: 'catalogo' },
  selector: { mode: 'pod-hash', canary: '6b7f9c8d5', stable: '5d4c7b9f8' },
  checks: [{ type: 'error-rate' }],
};

function errorsOf(body: unknown) {
  const r = parseAnalysisRequest(body);
  if (r.ok) throw new Error('expected a validation error');
  return r.errors;
}

function firstField(body: unknown): string {
  return (errorsOf(body)[0] as { field: string }).field;
}

const withCheck = (check: Record<string, unknown>) => ({
  ...valid,
  checks: [{ type: 'error-rate', ...check }],
});

describe('analysis request validation', () => {
  it('accepts a minimal body and fills the defaults', () => {
    const r = parseAnalysisRequest(valid);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.start).toBe('canary-first-sample');
    expect(r.value.interval).toEqual({ text: '60s', seconds: 60 });
  });

  it('accepts numbers and booleans as Argo substitutes them: strings', () => {
    const r = parseAnalysisRequest({
      ...valid,
      checks: [
        {
          type: 'error-rate',
          alpha: '0.01',
          margin: '0.1',
          criticalEffect: '2',
          power: '0.8',
          weight: '3',
          critical: 'false',
          errorCodes: '5xx, 429',
        },
        { type: 'latency', quantile: '0.99' },
        { type: 'latency', name: 'slo', thresholdMs: '250' },
      ],
    });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.checks[0]).toMatchObject({
      alpha: 0.01,
      margin: 0.1,
      criticalEffect: 2,
      power: 0.8,
      weight: 3,
      critical: false,
      errorCodes: '5xx,429',
    });
    expect(r.value.checks[1]).toMatchObject({ quantile: 0.99 });
    expect(r.value.checks[2]).toMatchObject({ thresholdMs: 250 });
  });

  it.each([
    ['a non-numeric string', withCheck({ alpha: '0.01x' }), 'checks[0].alpha', /number or a numeric string/],
    ['an empty string', withCheck({ alpha: '' }), 'checks[0].alpha', /number or a numeric string/],
    ['alpha out of range', withCheck({ alpha: 0.9 }), 'checks[0].alpha', /≤ 0.5/],
    ['alpha zero', withCheck({ alpha: '0' }), 'checks[0].alpha', /≥ 1e-6/],
    // 5e-324 split over two checks is 0, and 1e-320 has no finite 1/α: both once reached the engine.
    ['alpha that underflows after the split', withCheck({ alpha: '5e-324' }), 'checks[0].alpha', /≥ 1e-6/],
    ['alpha whose threshold is infinite', withCheck({ alpha: 1e-320 }), 'checks[0].alpha', /≥ 1e-6/],
    ['negative margin', withCheck({ margin: -1 }), 'checks[0].margin', /≥ 0/],
    [
      'criticalEffect ≤ 1 + margin',
      withCheck({ margin: 1, criticalEffect: 1.5 }),
      'checks[0].criticalEffect',
      /1 \+ margin/,
    ],
    ['power of 1', withCheck({ power: 1 }), 'checks[0].power', /< 1/],
    ['a bad boolean', withCheck({ critical: 'yes' }), 'checks[0].critical', /true or false/],
    [
      'bad error codes',
      withCheck({ errorCodes: '5xx;drop table' }),
      'checks[0].errorCodes',
      /comma-separated/,
    ],
    ['bad response flags', withCheck({ responseFlags: 'uo|x' }), 'checks[0].responseFlags', /Envoy flags/],
    [
      'an unknown check type',
      { ...valid, checks: [{ type: 'cpu' }] },
      'checks[0].type',
      /error-rate, latency, ratio or gauge/,
    ],
    [
      'a latency check without threshold',
      { ...valid, checks: [{ type: 'latency' }] },
      'checks[0].thresholdMs',
      /exactly one/,
    ],
    [
      'a latency check with both',
      { ...valid, checks: [{ type: 'latency', thresholdMs: 100, quantile: 0.99 }] },
      'checks[0].thresholdMs',
      /exactly one/,
    ],
    ['no checks', { ...valid, checks: [] }, 'checks', /at least one/],
    [
      'duplicate names',
      { ...valid, checks: [{ type: 'error-rate' }, { type: 'error-rate' }] },
      'checks[1].name',
      /duplicate/,
    ],
    ['an unknown field', { ...valid, extra: 1 }, 'extra', /unknown field/],
    ['a typo in a check', withCheck({ alhpa: 0.01 }), 'checks[0].alhpa', /unknown field/],
    [
      'a bad rollout name',
      { ...valid, rollout: { name: 'Catalogo_1', namespace: 'x' } },
      'rollout.name',
      /DNS-1123/,
    ],
    [
      'a bad namespace',
      { ...valid, rollout: { name: 'catalogo', namespace: 'a.b' } },
      'rollout.namespace',
      /DNS-1123 label/,
    ],
    [
      'an unknown selector mode',
      { ...valid, selector: { mode: 'label', canary: 'a', stable: 'b' } },
      'selector.mode',
      /pod-hash, service, version/,
    ],
    [
      'canary = stable',
      { ...valid, selector: { mode: 'pod-hash', canary: 'abc', stable: 'abc' } },
      'selector.canary',
      /differ/,
    ],
    ['a bad interval', { ...valid, interval: '1 minute' }, 'interval', /30s, 1m or 2h/],
    ['an interval too short', { ...valid, interval: '1s' }, 'interval', /between/],
    ['a bad start', { ...valid, start: 'yesterday' }, 'start', /RFC 3339/],
    [
      'end before start',
      { ...valid, start: '2026-01-02T00:00:00Z', end: '2026-01-01T00:00:00Z' },
      'end',
      /after start/,
    ],
    // Found by the property test: the cross-field rules once read the raw "" as a Date (a 500).
    [
      'an empty end beside an invalid selector',
      {
        ...valid,
        selector: { mode: 'pod-hash', canary: '', stable: '' },
        start: '2026-01-01T00:00:00Z',
        end: '',
      },
      'selector.canary',
      /pod-template hash/,
    ],
    [
      'a null check',
      { ...valid, checks: [null, { type: 'error-rate' }] },
      'checks[0]',
      /error-rate, latency, ratio or gauge|expected/,
    ],
    // Once answered 200 with a window whose start was after its end.
    [
      'a start in the future',
      { ...valid, start: new Date(Date.now() + 3_600_000).toISOString() },
      'start',
      /not be in the future/,
    ],
    ['a body that is not an object', [], 'body', /JSON object/],
  ])('refuses %s, naming the field', (_what, body, field, message) => {
    const errs = errorsOf(body);
    expect(errs[0]?.field).toBe(field);
    expect(errs[0]?.message).toMatch(message);
  });

  it.each([
    ['pod-hash', 'abc"} or vector(1) #'],
    ['pod-hash', 'ABC12'],
    ['pod-hash', 'abc-12'],
    ['service', 'catalogo"}'],
    ['service', 'Catalogo'],
    ['version', 'v1.2"} or vector(1) #'],
    ['version', '-v1'],
    ['version', 'a'.repeat(64)],
  ])('refuses a %s label value that is not what Kubernetes allows: %s', (mode, value) => {
    expect(firstField({ ...valid, selector: { mode, canary: value, stable: 'ok1' } })).toBe(
      'selector.canary',
    );
  });

  it('accepts each selector mode with well-formed values', () => {
    for (const selector of [
      { mode: 'pod-hash', canary: '6b7f9c8d5', stable: '5d4c7b9f8' },
      { mode: 'service', canary: 'catalogo-canary', stable: 'catalogo-stable' },
      { mode: 'version', canary: 'v1.2', stable: 'v1.1' },
    ]) {
      expect(parseAnalysisRequest({ ...valid, selector }).ok).toBe(true);
    }
  });

  it('takes extra matchers as an object, or as the JSON text of one (an Argo arg)', () => {
    for (const matchers of [{ cluster: 'eu-west-1' }, '{"cluster":"eu-west-1"}']) {
      const r = parseAnalysisRequest({ ...valid, matchers });
      expect(r.ok && r.value.matchers).toEqual({ cluster: 'eu-west-1' });
    }
    const none = parseAnalysisRequest({ ...valid, matchers: '{}' });
    expect(none.ok && none.value.matchers).toEqual({});
    const absent = parseAnalysisRequest(valid);
    expect(absent.ok && absent.value.matchers).toBeUndefined();
  });

  it.each<[string, unknown, string]>([
    ['a name outside the grammar', { 'a-b': 'x' }, 'matchers.a-b'],
    ['a name starting with a digit', { '1a': 'x' }, 'matchers.1a'],
    ['__name__', { __name__: 'up' }, 'matchers.__name__'],
    ['a reserved __ label', { __address__: 'x' }, 'matchers.__address__'],
    ['le', { le: '+Inf' }, 'matchers.le'],
    ['an empty value', { cluster: '' }, 'matchers.cluster'],
    ['a value with a newline', { cluster: 'a\nb' }, 'matchers.cluster'],
    ['a value that is not a string', { cluster: 1 }, 'matchers.cluster'],
    ['a list', ['cluster'], 'matchers'],
    ['text that is not a JSON object', 'cluster=eu', 'matchers'],
    ['JSON text of a list', '["cluster"]', 'matchers'],
    ['too many matchers', Object.fromEntries([...Array(9).keys()].map((i) => [`l${i}`, 'x'])), 'matchers'],
  ])('refuses matchers with %s', (_what, matchers, field) => {
    expect(firstField({ ...valid, matchers })).toBe(field);
  });

  it('formats paths as field names', () => {
    expect(formatPath(['checks', 0, 'alpha'])).toBe('checks[0].alpha');
    expect(formatPath(['rollout', 'name'])).toBe('rollout.name');
    expect(formatPath([])).toBe('');
  });
});

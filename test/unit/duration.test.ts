/**
 * The judge's one duration grammar, as the configuration and the analysis request read it.
 */
import { describe, expect, it } from 'vitest';
import { parseDuration } from '../../src/duration.js';
import { ConfigError, loadConfig } from '../../src/config/config.js';
import { parseRequestBody } from '../../src/server/http/request-body.js';

describe('duration grammar', () => {
  it.each([
    ['500ms', 500],
    ['5s', 5000],
    ['2m', 120_000],
    ['24h', 86_400_000],
    ['0s', 0],
    ['0ms', 0],
    // Leading zeros are read as decimal, as the configuration always read them.
    ['05s', 5000],
    ['007m', 420_000],
  ])('reads %s as %d ms', (text, ms) => {
    expect(parseDuration(text)).toEqual({ text, ms, unit: text.replace(/^\d+/, '') });
  });

  it.each([
    '',
    's',
    '5',
    '-5s',
    '+5s',
    '1.5s',
    '.5s',
    '1e3ms',
    '1m30s',
    '5 s',
    ' 5s',
    '5s ',
    '5S',
    '5sec',
    '5us',
    '5ns',
    '1d',
    '1w',
    '１s',
    '٣s',
  ])('refuses %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });

  it('accepts only the units a use allows', () => {
    expect(parseDuration('500ms', ['s', 'm', 'h'])).toBeUndefined();
    expect(parseDuration('5000ms', ['s', 'm', 'h'])).toBeUndefined();
    expect(parseDuration('60s', ['s', 'm', 'h'])?.ms).toBe(60_000);
  });

  it('gives a huge number of digits a huge value, for the range to refuse', () => {
    expect(parseDuration(`${'9'.repeat(400)}h`)?.ms).toBe(Infinity);
    expect(parseDuration('9007199254740993ms')?.ms).toBeGreaterThan(Number.MAX_SAFE_INTEGER);
  });
});

const URL_ENV = { CANARY_JUDGE_PROMETHEUS_URL: 'http://prometheus.monitoring:9090' };

function configProblems(env: Record<string, string>): readonly string[] {
  try {
    loadConfig({ ...URL_ENV, ...env });
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
}

describe('durations in the configuration', () => {
  it('reads every unit, zero where the range allows it, and leading zeros', () => {
    const c = loadConfig({
      ...URL_ENV,
      CANARY_JUDGE_PROMETHEUS_TIMEOUT: '750ms',
      CANARY_JUDGE_ANALYSIS_DEADLINE: '1m',
      CANARY_JUDGE_FIRST_SAMPLE_LOOKBACK: '2h',
      CANARY_JUDGE_SHUTDOWN_DELAY: '0ms',
      CANARY_JUDGE_SHUTDOWN_TIMEOUT: '010s',
    });
    expect(c.prometheus.timeoutMs).toBe(750);
    expect(c.deadlineMs).toBe(60_000);
    expect(c.lookbackSeconds).toBe(7200);
    expect(c.shutdownDelayMs).toBe(0);
    expect(c.shutdownTimeoutMs).toBe(10_000);
  });

  it('holds each range at its edges, in any unit', () => {
    expect(configProblems({ CANARY_JUDGE_PROMETHEUS_TIMEOUT: '100ms' })).toEqual([]);
    expect(configProblems({ CANARY_JUDGE_PROMETHEUS_TIMEOUT: '5m' })).toEqual([]);
    expect(configProblems({ CANARY_JUDGE_PROMETHEUS_TIMEOUT: '99ms' })).toEqual([
      'CANARY_JUDGE_PROMETHEUS_TIMEOUT="99ms" must be between 100 ms and 300000 ms',
    ]);
    expect(configProblems({ CANARY_JUDGE_PROMETHEUS_TIMEOUT: '300001ms' })).toEqual([
      'CANARY_JUDGE_PROMETHEUS_TIMEOUT="300001ms" must be between 100 ms and 300000 ms',
    ]);
    expect(configProblems({ CANARY_JUDGE_FIRST_SAMPLE_LOOKBACK: '744h' })).toEqual([]);
    expect(configProblems({ CANARY_JUDGE_FIRST_SAMPLE_LOOKBACK: '745h' })).toEqual([
      'CANARY_JUDGE_FIRST_SAMPLE_LOOKBACK="745h" must be between 60000 ms and 2678400000 ms',
    ]);
  });

  it("names Go-style and fractional durations as outside the grammar, with the variable's value", () => {
    expect(
      configProblems({
        CANARY_JUDGE_PROMETHEUS_TIMEOUT: '1m30s',
        CANARY_JUDGE_ANALYSIS_DEADLINE: '1.5s',
        CANARY_JUDGE_CONTRACT_DEADLINE: '8',
      }),
    ).toEqual([
      'CANARY_JUDGE_PROMETHEUS_TIMEOUT="1m30s" is not a duration like 500ms, 5s, 2m or 24h',
      'CANARY_JUDGE_ANALYSIS_DEADLINE="1.5s" is not a duration like 500ms, 5s, 2m or 24h',
      'CANARY_JUDGE_CONTRACT_DEADLINE="8" is not a duration like 500ms, 5s, 2m or 24h',
    ]);
  });
});

function intervalOf(interval: string): { seconds: number } | string {
  const r = parseRequestBody({
    rollout: { name: 'catalogo', namespace: 'catalogo' },
    selector: { mode: 'pod-hash', canary: '6b7f9c8d5', stable: '5d4c7b9f8' },
    interval,
    checks: [{ type: 'error-rate' }],
  });
  if (r.ok) return { seconds: r.value.interval.seconds };
  return r.errors.map((e) => (e as { message: string }).message).join('; ');
}

describe('durations in the analysis request (interval)', () => {
  it('reads seconds, minutes and hours between 5s and 60m', () => {
    expect(intervalOf('5s')).toEqual({ seconds: 5 });
    expect(intervalOf('90s')).toEqual({ seconds: 90 });
    expect(intervalOf('60m')).toEqual({ seconds: 3600 });
    expect(intervalOf('1h')).toEqual({ seconds: 3600 });
    expect(intervalOf('060s')).toEqual({ seconds: 60 });
  });

  it('refuses milliseconds, other forms and values outside the range', () => {
    expect(intervalOf('60000ms')).toMatch(/30s, 1m or 2h/);
    expect(intervalOf('1m30s')).toMatch(/30s, 1m or 2h/);
    expect(intervalOf('1.5m')).toMatch(/30s, 1m or 2h/);
    expect(intervalOf('4s')).toMatch(/between 5s and 60m/);
    expect(intervalOf('0s')).toMatch(/between 5s and 60m/);
    expect(intervalOf('61m')).toMatch(/between 5s and 60m/);
    expect(intervalOf('2h')).toMatch(/between 5s and 60m/);
    expect(intervalOf('1000000s')).toMatch(/between 5s and 60m/);
  });
});

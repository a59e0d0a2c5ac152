/**
 * The answer as the metric plugin records it: the keys and texts of the measurement's metadata
 * (which the Argo plugin tests, plugins/metric/test, check through Argo's own client against a
 * real judge), and numbers printed as Go's %g with three digits prints them.
 */

import { describe, expect, it } from 'vitest';
import {
  AnalyzeResponse,
  CheckType,
  Reason,
  Scorecard_Reason,
  Verdict,
  Window_StartSource,
} from '../../../../src/gen/canary_judge/v1/judge.js';
import { num, toMeasurement } from '../../../../src/server/grpc/measurement.js';

describe('num', () => {
  // strconv.FormatFloat(v, 'g', 3, 64), as printed by Go 1.26.
  it.each<[number, string]>([
    [0, '0'],
    [0.001, '0.001'],
    [12345, '1.23e+04'],
    [1.234e-5, '1.23e-05'],
    [100, '100'],
    [1000, '1e+03'],
    [2.5, '2.5'],
    [0.99, '0.99'],
    [99.96, '100'],
    [999.6, '1e+03'],
    [0.0001, '0.0001'],
    [9.999e-5, '0.0001'],
    [-3.14159, '-3.14'],
    [1e21, '1e+21'],
    [5e-324, '4.94e-324'],
    [123456789, '1.23e+08'],
    [0.5, '0.5'],
    [1.005, '1'],
    [7 / 3, '2.33'],
  ])('%s → %s', (v, text) => {
    expect(num(v)).toBe(text);
  });
});

describe('toMeasurement', () => {
  it('lays out the verdict, score, window, scorecard and each check’s evidence as flat keys', () => {
    const m = toMeasurement(
      AnalyzeResponse.fromPartial({
        verdict: Verdict.VERDICT_FAIL,
        score: 50,
        summary: 'Fail: error-rate 3.1× the stable',
        judge: 'canary-judge/0.1.0',
        window: {
          start: '2026-11-30T10:00:00Z',
          end: '2026-11-30T10:20:00Z',
          interval: '60s',
          intervals: 20,
          startSource: Window_StartSource.START_SOURCE_EXPLICIT,
        },
        scorecard: { reason: Scorecard_Reason.REASON_CRITICAL_FAILURE, maxScore: 50, failBelow: 75 },
        checks: [
          {
            name: 'error-rate',
            type: CheckType.CHECK_TYPE_ERROR_RATE,
            verdict: Verdict.VERDICT_FAIL,
            reason: Reason.REASON_REGRESSION_DETECTED,
            canary: { requests: 12000, bad: 372, rate: 0.031 },
            stable: { requests: 48000, bad: 480 },
            effect: { ratio: 3.1, lower: 2.4, upper: 4.02, confidence: 0.99 },
            evidence: { eValue: 250000, threshold: 200, pValue: 0 },
            power: { achieved: 0.97, required: 0.8, criticalEffect: 2 },
          },
          {
            name: 'latency',
            type: CheckType.CHECK_TYPE_LATENCY,
            verdict: Verdict.VERDICT_INCONCLUSIVE,
            reason: Reason.REASON_INSUFFICIENT_DATA,
            settle: { minutes: 14.2 },
            error: { code: 'query_error', message: 'bad query' },
          },
        ],
      }),
    );
    expect(m).toEqual({
      verdict: 'Fail',
      score: 50,
      summary: 'Fail: error-rate 3.1× the stable',
      metadata: {
        verdict: 'Fail',
        score: '50',
        judge: 'canary-judge/0.1.0',
        window: '2026-11-30T10:00:00Z to 2026-11-30T10:20:00Z, 20 intervals of 60s',
        scorecard: 'critical_failure',
        'error-rate.verdict': 'Fail (regression_detected)',
        'error-rate.canary': '372 bad of 1.2e+04 (3.1%)',
        'error-rate.stable': '480 bad of 4.8e+04',
        'error-rate.effect': 'ratio 3.1 [2.4, 4.02] at 99%',
        'error-rate.eValue': '2.5e+05 (fails at 200)',
        'error-rate.power': '0.97 (needs 0.8 against 2×)',
        'latency.verdict': 'Inconclusive (insufficient_data)',
        'latency.settleMinutes': '14.2',
        'latency.error': 'query_error: bad query',
      },
    });
  });

  it('shows a gauge check from its record: medians, degradation with its bounds, evidence, drift', () => {
    const m = toMeasurement(
      AnalyzeResponse.fromPartial({
        verdict: Verdict.VERDICT_FAIL,
        checks: [
          {
            name: 'queue',
            type: CheckType.CHECK_TYPE_GAUGE,
            verdict: Verdict.VERDICT_FAIL,
            reason: Reason.REASON_REGRESSION_DETECTED,
            gauge: {
              direction: 'higher-is-worse',
              scale: 'relative',
              tolerance: 0.1,
              canary: { intervals: 20, median: 61.2 },
              stable: { intervals: 20, median: 40.05 },
              estimate: 0.5281,
              lower: 0.31,
              fail: { eValue: 900, maxEValue: 1200, threshold: 100, hits: 20 },
              pass: { eValue: 0.01, maxEValue: 1, threshold: 20, hits: 0 },
              serialDependence: { runs: 3, expectedRuns: 11, z: -3.4, suspected: true },
            },
          },
        ],
      }),
    );
    expect(m.metadata).toMatchObject({
      'queue.verdict': 'Fail (regression_detected)',
      'queue.gauge':
        'canary median 61.2 vs stable 40, degradation 0.528 [0.31, +Inf] (relative, tolerance 0.1)',
      'queue.eValue': '1.2e+03 (fails at 100)',
      'queue.serialDependence': 'suspected (runs test z -3.4)',
    });
    expect(m.metadata).not.toHaveProperty('queue.canary');
  });

  it('gives no verdict for an answer without one (the plugin makes it an Error)', () => {
    expect(toMeasurement(AnalyzeResponse.fromPartial({})).verdict).toBe('');
  });
});

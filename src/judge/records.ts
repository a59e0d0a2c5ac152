/**
 * A check kind's evidence record → the fields of its answer (CheckResult), by the record's
 * kind, not by the check's type. The count record keeps the answer's long-standing flat fields
 * (canary, stable, effect, evidence, power, intervals, floor, settleMinutes and the kind's
 * details), so HTTP and gRPC clients of the count kinds read what they always read; the gauge
 * record is the additive `gauge` object, with the count fields null.
 */
import type { EvidenceRecord } from './checks/kind.js';
import type { CheckResult } from './types.js';

/** Every field of a check's answer that its record decides. */
export type RecordFields = Omit<
  CheckResult,
  'name' | 'type' | 'verdict' | 'reason' | 'summary' | 'params' | 'queries' | 'error'
>;

export function recordFields(record: EvidenceRecord, intervalSeconds: number): RecordFields {
  switch (record.kind) {
    case 'count': {
      const r = record.result;
      return {
        canary: r.canary,
        stable: r.stable,
        effect: r.effect,
        evidence: r.evidence,
        power: r.power,
        intervals: r.intervals,
        ...(r.floor === undefined ? {} : { floor: r.floor }),
        ...(r.settleIntervals === undefined
          ? {}
          : { settleMinutes: settleMinutes(r.settleIntervals, intervalSeconds) }),
        ...record.details,
      };
    }
    case 'gauge': {
      const { verdict: _verdict, reason: _reason, ...gauge } = record.result;
      return {
        canary: null,
        stable: null,
        effect: null,
        evidence: null,
        power: null,
        intervals: gauge.intervals,
        gauge,
      };
    }
  }
}

function settleMinutes(intervals: number | null, intervalSeconds: number): number | null {
  return intervals === null ? null : Math.max(1, Math.ceil((intervals * intervalSeconds) / 60));
}

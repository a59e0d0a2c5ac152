/**
 * CPU micro-benchmark: one analysis of a 60-interval (60 minutes at 1-minute resolution)
 * history, as the judge runs it per check per measurement. Reports the median and p90 of
 * per-call wall time (single-threaded, so ≈ CPU time when the machine is not oversubscribed)
 * and the process CPU time per call over the whole batch.
 */
import { decideCounts } from '../../src/stats/count-test.js';
import type { CountTestParams, IntervalCounts } from '../../src/stats/types.js';
import { Rng } from '../../test/support/random.js';

export interface CpuResult {
  readonly runs: number;
  readonly intervals: number;
  readonly medianMicros: number;
  readonly p90Micros: number;
  /** Process CPU time (user + system) over all timed runs, divided by the number of runs. */
  readonly meanCpuMicros: number;
}

export function cpuBenchmark(runs: number, params: CountTestParams, seed: number): CpuResult {
  const rng = new Rng(seed, 0xc0ffee);
  const histories: IntervalCounts[][] = [];
  for (let h = 0; h < 64; h++) {
    const iv: IntervalCounts[] = [];
    for (let t = 0; t < 60; t++) {
      const w = [0.01, 0.05, 0.1, 0.25, 0.5, 0.5][Math.floor(t / 10)] as number;
      const canaryTotal = rng.poisson(6000 * w) + rng.uniform(); // fractional, like increase()
      const stableTotal = rng.poisson(6000 * (1 - w)) + rng.uniform();
      iv.push({
        canaryTotal,
        canaryBad: rng.binomial(Math.floor(canaryTotal), 0.005),
        stableTotal,
        stableBad: rng.binomial(Math.floor(stableTotal), 0.005),
      });
    }
    histories.push(iv);
  }
  let sink = 0;
  for (let i = 0; i < 2000; i++)
    sink += decideCounts(histories[i % 64] as IntervalCounts[], params).power.achieved; // warm-up
  const times: number[] = [];
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    sink += decideCounts(histories[i % 64] as IntervalCounts[], params).power.achieved;
    times.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  const cpu = process.cpuUsage(cpu0);
  if (Number.isNaN(sink)) throw new Error('unreachable: keeps the calls from being optimised away');
  times.sort((a, b) => a - b);
  return {
    runs,
    intervals: 60,
    medianMicros: times[Math.floor(runs / 2)] as number,
    p90Micros: times[Math.floor(runs * 0.9)] as number,
    meanCpuMicros: (cpu.user + cpu.system) / runs,
  };
}

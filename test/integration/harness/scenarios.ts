/**
 * Named scenarios for the catalogo v1.1 (stable) → v1.2 (canary) rollout. Each scenario lives in
 * its own namespace, so one Prometheus can hold all of them. Every namespace also holds two
 * neighbours with a very bad error rate whose names share a prefix with the rollout or its
 * canary (`catalogo-admin`, and a Rollout literally named `catalogo-<canary hash>`), so any
 * selector that mixes them in shows up as a wrong verdict.
 */

import type { ScenarioSpec, WorkloadSpec } from './simulation.js';

export const ROLLOUT = 'catalogo';
export const STABLE_HASH = '5d4c7b9f8';
export const CANARY_HASH = '6b7f9c8d5';
export const STABLE_VERSION = 'v1.1';
export const CANARY_VERSION = 'v1.2';
export const STABLE_SERVICE = 'catalogo-stable';
export const CANARY_SERVICE = 'catalogo-canary';

export interface SideOptions {
  rps: number;
  errorRate: number;
  slowFraction: number;
  from?: number;
  resetAt?: readonly number[];
}

const BASE_STABLE: SideOptions = { rps: 60, errorRate: 0.01, slowFraction: 0.02 };
const BASE_CANARY: SideOptions = { rps: 20, errorRate: 0.01, slowFraction: 0.02 };

/** What each named scenario changes on the canary (and stable) side. */
export const SCENARIOS = {
  /** v1.2 behaves exactly like v1.1. */
  healthy: { canary: {}, stable: {} },
  /** v1.2 answers 503 three times as often. */
  'error-3x': { canary: { errorRate: 0.03 }, stable: {} },
  /** v1.2's slow tail is half as large again: 3% slow requests instead of 2%. */
  'slow-tail': { canary: { slowFraction: 0.03 }, stable: {} },
  /** v1.2 pods exist but receive no requests (no series, as with Istio). */
  'no-canary': { canary: { rps: 0 }, stable: {} },
  /** Healthy; the canary starts 20 min after the stable (the stable has history before it). */
  'late-canary': { canary: { from: 1200 }, stable: {} },
  /** Healthy, but the canary's pods restart after 30 min and the stable's after 40 min. */
  'counter-reset': { canary: { resetAt: [1800] }, stable: { resetAt: [2400] } },
} as const satisfies Record<string, { canary: Partial<SideOptions>; stable: Partial<SideOptions> }>;

export type ScenarioName = keyof typeof SCENARIOS;

export function isScenarioName(s: string): s is ScenarioName {
  return Object.hasOwn(SCENARIOS, s);
}

/** The workloads of one scenario in `namespace` (default: the scenario's name). */
export function scenarioWorkloads(name: ScenarioName, namespace: string = name, scale = 1): WorkloadSpec[] {
  const s = SCENARIOS[name];
  const stable = { ...BASE_STABLE, ...s.stable };
  const canary = { ...BASE_CANARY, ...s.canary };
  const side = (
    o: SideOptions,
    hash: string,
    version: string,
    service: string,
    pods: number,
  ): WorkloadSpec => ({
    rollout: ROLLOUT,
    namespace,
    hash,
    version,
    service,
    pods,
    rps: o.rps * scale,
    errorRate: o.errorRate,
    slowFraction: o.slowFraction,
    ...(o.from === undefined ? {} : { from: o.from }),
    ...(o.resetAt === undefined ? {} : { resetAt: o.resetAt }),
  });
  const neighbour = (rollout: string, hash: string, service: string): WorkloadSpec => ({
    rollout,
    namespace,
    hash,
    version: CANARY_VERSION,
    service,
    pods: 1,
    rps: 10 * scale,
    errorRate: 0.5,
    slowFraction: 0.5,
  });
  return [
    side(stable, STABLE_HASH, STABLE_VERSION, STABLE_SERVICE, 2),
    side(canary, CANARY_HASH, CANARY_VERSION, CANARY_SERVICE, 1),
    neighbour('catalogo-admin', '7f8d9c6b5', 'catalogo-canary-admin'),
    neighbour(`catalogo-${CANARY_HASH}`, '8c7b6d5f4', 'catalogo-canary-v2'),
  ];
}

/** Several scenarios side by side, each in its own namespace. */
export function combined(names: readonly ScenarioName[], seed = 42, scale = 1): ScenarioSpec {
  return { seed, workloads: names.flatMap((n) => scenarioWorkloads(n, n, scale)) };
}

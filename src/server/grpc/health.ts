/**
 * grpc.health.v1 for the judge: SERVING until shutdown starts, then NOT_SERVING (so a probe or
 * a load balancer stops sending analyses before the listener closes). It reports the process,
 * not Prometheus: a Prometheus outage must not take replicas out of rotation; analyses answer
 * UNAVAILABLE meanwhile and the client retries.
 */

import { status, type ServerWritableStream, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import {
  HealthCheckResponse_ServingStatus as ServingStatus,
  type HealthCheckRequest,
  type HealthCheckResponse,
  type HealthServer,
} from '../../gen/grpc/health/v1/health.js';

export interface HealthState {
  readonly implementation: HealthServer;
  /** Marks every service NOT_SERVING, tells the watchers, and ends their streams. */
  shutdown(): void;
}

/** `services`: fully qualified names answered besides "" (the whole server). */
export function createHealth(services: readonly string[]): HealthState {
  const known = new Set(['', ...services]);
  let serving = true;
  const watchers = new Set<ServerWritableStream<HealthCheckRequest, HealthCheckResponse>>();
  const current = (service: string): ServingStatus =>
    !known.has(service)
      ? ServingStatus.SERVICE_UNKNOWN
      : serving
        ? ServingStatus.SERVING
        : ServingStatus.NOT_SERVING;

  const implementation: HealthServer = {
    check(
      call: ServerUnaryCall<HealthCheckRequest, HealthCheckResponse>,
      callback: sendUnaryData<HealthCheckResponse>,
    ) {
      const s = current(call.request.service);
      if (s === ServingStatus.SERVICE_UNKNOWN) {
        callback({ code: status.NOT_FOUND, details: `unknown service "${call.request.service}"` });
        return;
      }
      callback(null, { status: s });
    },
    watch(call: ServerWritableStream<HealthCheckRequest, HealthCheckResponse>) {
      call.write({ status: current(call.request.service) });
      if (!serving) {
        call.end();
        return;
      }
      watchers.add(call);
      const forget = (): void => {
        watchers.delete(call);
      };
      call.on('cancelled', forget);
      call.on('close', forget);
    },
  };

  return {
    implementation,
    shutdown() {
      if (!serving) return;
      serving = false;
      // Watch streams never end by themselves; a graceful shutdown would wait for them forever.
      for (const w of watchers) {
        w.write({ status: current(w.request.service) });
        w.end();
      }
      watchers.clear();
    },
  };
}

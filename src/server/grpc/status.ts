/**
 * Error codes → gRPC status, one exhaustive table (a new code without a status is a compile
 * error). Prometheus trouble is UNAVAILABLE or DEADLINE_EXCEEDED, which a client retries; a bad
 * request is INVALID_ARGUMENT, which it must not. The closed code and the field travel in the
 * trailers, so a client can tell `prometheus_unavailable` from `shutting_down` without parsing
 * the message.
 */

import { Metadata, status, type StatusObject } from '@grpc/grpc-js';
import type { ErrorCode, JudgeError } from '../../errors.js';

export const GRPC_STATUS: Readonly<Record<ErrorCode, status>> = {
  invalid_request: status.INVALID_ARGUMENT,
  unauthorized: status.UNAUTHENTICATED,
  not_found: status.NOT_FOUND,
  payload_too_large: status.RESOURCE_EXHAUSTED,
  // Prometheus answered, but nothing usable: the upstream is at fault (HTTP 502 → UNAVAILABLE).
  prometheus_bad_response: status.UNAVAILABLE,
  prometheus_unavailable: status.UNAVAILABLE,
  prometheus_timeout: status.DEADLINE_EXCEEDED,
  deadline_exceeded: status.DEADLINE_EXCEEDED,
  target_not_allowed: status.PERMISSION_DENIED,
  contract_target_unavailable: status.UNAVAILABLE,
  contract_target_timeout: status.DEADLINE_EXCEEDED,
  shutting_down: status.UNAVAILABLE,
  overloaded: status.UNAVAILABLE,
  internal: status.INTERNAL,
};

/** Trailer with the judge's closed error code, e.g. `prometheus_unavailable`. */
export const CODE_TRAILER = 'canary-judge-error-code';
/** Trailer with the offending request field (INVALID_ARGUMENT only), e.g. `checks[0].alpha`. */
export const FIELD_TRAILER = 'canary-judge-error-field';

/** The status a handler ends with for a JudgeError (field already in proto terms). */
export function toStatus(err: JudgeError): Pick<StatusObject, 'code' | 'details' | 'metadata'> {
  const metadata = new Metadata();
  metadata.set(CODE_TRAILER, err.code);
  if (err.field !== undefined) metadata.set(FIELD_TRAILER, err.field);
  const details =
    err.field === undefined || err.message.startsWith(err.field)
      ? err.message
      : `${err.field}: ${err.message}`;
  return { code: GRPC_STATUS[err.code], details, metadata };
}

/**
 * The one error type of the service. Every failure that reaches a transport carries a code from a
 * closed set; each transport maps codes to its own status with an exhaustive table, so adding a
 * code without deciding its status is a compile error.
 */

export const ERROR_CODES = [
  'invalid_request',
  'unauthorized',
  'not_found',
  'payload_too_large',
  'prometheus_bad_response',
  'prometheus_unavailable',
  'prometheus_timeout',
  'deadline_exceeded',
  'target_not_allowed',
  'contract_target_unavailable',
  'contract_target_timeout',
  'shutting_down',
  'overloaded',
  'internal',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** HTTP status per code. Prometheus trouble is 5xx so Argo records an Error and retries. */
export const HTTP_STATUS: Readonly<Record<ErrorCode, number>> = {
  invalid_request: 400,
  unauthorized: 401,
  not_found: 404,
  payload_too_large: 413,
  prometheus_bad_response: 502,
  prometheus_unavailable: 503,
  prometheus_timeout: 504,
  deadline_exceeded: 504,
  // A contract check aimed at a host outside the judge's allow-list: refused, never fetched.
  target_not_allowed: 403,
  // The canary or stable of a contract check did not answer: an Error measurement, never a Pass.
  contract_target_unavailable: 502,
  contract_target_timeout: 504,
  shutting_down: 503,
  // Too many analyses in flight and the short queue full or waited out: retry shortly.
  overloaded: 503,
  internal: 500,
};

export interface JudgeErrorOptions {
  /** Request field at fault, as a path like `checks[0].alpha` (invalid_request only). */
  readonly field?: string;
  readonly cause?: unknown;
}

export class JudgeError extends Error {
  readonly code: ErrorCode;
  readonly field: string | undefined;

  constructor(code: ErrorCode, message: string, options: JudgeErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'JudgeError';
    this.code = code;
    this.field = options.field;
  }

  /** The JSON body every transport sends for an error; never a stack trace. */
  toBody(): { error: { code: ErrorCode; message: string; field?: string } } {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.field === undefined ? {} : { field: this.field }),
      },
    };
  }
}

export function isJudgeError(e: unknown): e is JudgeError {
  return e instanceof JudgeError;
}

/** Prometheus-side codes: the analysis cannot be computed now, but may be on a retry. */
export function isPrometheusError(code: ErrorCode): boolean {
  return (
    code === 'prometheus_bad_response' || code === 'prometheus_unavailable' || code === 'prometheus_timeout'
  );
}

/**
 * The analysis request: the judge's own model of what it is asked, with typed values (numbers
 * are numbers, booleans are booleans). Each transport turns its input into this shape and
 * validates it here, so both accept exactly the same analyses: the HTTP layer first applies its
 * one coercion (Argo substitutes template args as JSON strings, see
 * src/server/http/request-body.ts), gRPC builds the object from the proto message
 * (src/server/grpc/mapping.ts). It lives in the domain so that nothing under src/judge,
 * src/prometheus or src/stats depends on a transport.
 *
 * Label values end up inside PromQL, so each is checked against what Kubernetes itself allows
 * for that kind of value; anything else is refused here, before any query is built. Unknown keys
 * are refused too, so a typo in a template fails loudly.
 */

import { z } from 'zod';
import { parseDuration } from '../duration.js';

const bool = z.boolean({ error: 'expected true or false' });

/** DNS-1123 label: Kubernetes namespaces and Service names. */
const DNS1123_LABEL = /^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$/;
/** DNS-1123 subdomain: names of Rollouts (and so the prefix of their pods' names). */
const DNS1123_SUBDOMAIN = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$/;
/** rollouts-pod-template-hash values: short lowercase alphanumerics. */
const POD_TEMPLATE_HASH = /^[a-z0-9]{1,16}$/;
/** Kubernetes label value (non-empty), e.g. the `version` pod label. */
const LABEL_VALUE = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/;
/** Check names: lowercase, digits, dashes; they appear in summaries and logs. */
const CHECK_NAME = /^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$/;
/** Comma-separated status codes or classes: "5xx", "5xx,429", "503,504". */
const ERROR_CODES = /^(?:[1-5]xx|[1-5][0-9]{2}|0)(?:,(?:[1-5]xx|[1-5][0-9]{2}|0))*$/;
/** Comma-separated Envoy response flags: "UO,URX,UF". */
const RESPONSE_FLAGS = /^[A-Z]{2,5}(?:,[A-Z]{2,5})*$/;

export const MIN_INTERVAL_SECONDS = 5;
export const MAX_INTERVAL_SECONDS = 3600;
export const FIRST_SAMPLE = 'canary-first-sample';
/** Smallest α accepted (a Fail then needs an e-value of 10^6 × the number of checks). */
export const MIN_ALPHA = 1e-6;

const dnsLabel = (what: string) =>
  z
    .string()
    .max(63, { error: `${what} must be at most 63 characters` })
    .regex(DNS1123_LABEL, { error: `${what} must be a DNS-1123 label (lowercase letters, digits, '-')` });

const rolloutSchema = z.strictObject({
  name: z
    .string()
    .max(253, { error: 'rollout name must be at most 253 characters' })
    .regex(DNS1123_SUBDOMAIN, { error: 'rollout name must be a DNS-1123 subdomain' }),
  namespace: dnsLabel('namespace'),
});

/** Prometheus label names (`__`-prefixed ones are Prometheus' own and refused separately). */
const PROM_LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** At most this many extra matchers per request. */
export const MAX_MATCHERS = 8;

/**
 * Extra equality matchers (`{"cluster": "eu-west-1"}`) added to every query of both sides: the
 * scope of the analysis on a query layer over many clusters. Names follow Prometheus' grammar;
 * `__name__` and every `__`-prefixed label are refused, as is `le` (the latency queries group by
 * it); the labels the selector itself sets depend on the configured mesh names and are refused by
 * the judge (src/judge/judge.ts). Values are any non-empty text without control characters,
 * escaped as PromQL strings where they land.
 */
const matchersSchema = z
  .record(z.string(), z.string({ error: 'a matcher value must be a string' }))
  .superRefine((m, ctx) => {
    const names = Object.keys(m);
    if (names.length > MAX_MATCHERS) {
      ctx.addIssue({ code: 'custom', path: [], message: `at most ${MAX_MATCHERS} matchers` });
    }
    for (const name of names) {
      const value = m[name];
      if (!PROM_LABEL_NAME.test(name) || name.length > 128) {
        ctx.addIssue({
          code: 'custom',
          path: [name],
          message:
            'a matcher name must be a Prometheus label name (letters, digits, _; not starting with a digit)',
        });
      } else if (name.startsWith('__')) {
        ctx.addIssue({
          code: 'custom',
          path: [name],
          message:
            'labels starting with __ (such as __name__) are reserved to Prometheus and cannot be matched',
        });
      } else if (name === 'le') {
        ctx.addIssue({
          code: 'custom',
          path: [name],
          message: 'le is the bucket label of the latency queries and cannot be matched',
        });
      } else if (
        typeof value === 'string' &&
        (value.length === 0 || value.length > 256 || /\p{Cc}/u.test(value))
      ) {
        ctx.addIssue({
          code: 'custom',
          path: [name],
          message: 'a matcher value must be 1-256 characters without control characters',
        });
      }
    }
  });

const hash = z.string().regex(POD_TEMPLATE_HASH, {
  error: 'pod-template hash must be 1-16 lowercase letters or digits',
});
const version = z.string().regex(LABEL_VALUE, {
  error: 'version must be a Kubernetes label value (letters, digits, . _ -; at most 63)',
});

const selectorSchema = z
  .discriminatedUnion(
    'mode',
    [
      z.strictObject({ mode: z.literal('pod-hash'), canary: hash, stable: hash }),
      z.strictObject({
        mode: z.literal('service'),
        canary: dnsLabel('service name'),
        stable: dnsLabel('service name'),
      }),
      z.strictObject({ mode: z.literal('version'), canary: version, stable: version }),
    ],
    { error: 'selector.mode must be one of pod-hash, service, version' },
  )
  .refine((s) => s.canary !== s.stable, {
    error: 'canary and stable must differ',
    path: ['canary'],
  });

/** The judge's duration grammar (src/duration.ts) in seconds, minutes or hours: "60s", "1m", "2h". */
const durationSchema = z.string().transform((s, ctx) => {
  const d = parseDuration(s, ['s', 'm', 'h']);
  if (d === undefined) {
    ctx.addIssue({ code: 'custom', message: 'interval must look like 30s, 1m or 2h' });
    return z.NEVER;
  }
  const seconds = d.ms / 1000;
  if (seconds < MIN_INTERVAL_SECONDS || seconds > MAX_INTERVAL_SECONDS) {
    ctx.addIssue({
      code: 'custom',
      message: `interval must be between ${MIN_INTERVAL_SECONDS}s and ${MAX_INTERVAL_SECONDS / 60}m`,
    });
    return z.NEVER;
  }
  return { text: s, seconds };
});

const timestamp = (what: string) =>
  z.iso
    .datetime({ offset: true, error: `${what} must be an RFC 3339 time such as 2026-01-02T15:04:05Z` })
    .transform((s) => new Date(s));

/** Statistical and scorecard options shared by every check; missing ones take engine defaults. */
const commonCheckFields = {
  name: z
    .string()
    .regex(CHECK_NAME, { error: 'check name must be lowercase letters, digits and dashes' })
    .optional(),
  // The floor keeps α / (number of checks) a normal float whose 1/α the engine can use as a
  // threshold: 5e-324 split in two is 0, and 1e-320 gives an infinite threshold.
  alpha: z
    .number()
    .min(MIN_ALPHA, { error: 'alpha must be ≥ 1e-6' })
    .max(0.5, { error: 'alpha must be ≤ 0.5' })
    .optional(),
  margin: z
    .number()
    .min(0, { error: 'margin must be ≥ 0' })
    .max(10, { error: 'margin must be ≤ 10' })
    .optional(),
  criticalEffect: z
    .number()
    .gt(1, { error: 'criticalEffect must be > 1 (a rate ratio)' })
    .max(1000, { error: 'criticalEffect must be ≤ 1000' })
    .optional(),
  /** Absolute increase of the bad-request rate a Pass must rule out (0.001 = +0.1 pp), [0, 1). */
  criticalIncrease: z
    .number()
    .min(0, { error: 'criticalIncrease must be ≥ 0' })
    .lt(1, { error: 'criticalIncrease must be < 1 (a rate)' })
    .optional(),
  power: z.number().gt(0, { error: 'power must be > 0' }).lt(1, { error: 'power must be < 1' }).optional(),
  weight: z
    .number()
    .gt(0, { error: 'weight must be > 0' })
    .max(1000, { error: 'weight must be ≤ 1000' })
    .optional(),
  critical: bool.optional(),
};

const errorRateCheck = z.strictObject({
  type: z.literal('error-rate'),
  ...commonCheckFields,
  errorCodes: z
    .string()
    .transform((s) => s.replace(/\s+/g, ''))
    .pipe(
      z.string().regex(ERROR_CODES, {
        error: 'errorCodes must be a comma-separated list like 5xx,429 (0 for resets)',
      }),
    )
    .optional(),
  /** Envoy response flags that also count as errors whatever the code, e.g. "UO,URX". */
  responseFlags: z
    .string()
    .transform((s) => s.replace(/\s+/g, ''))
    .pipe(
      z.string().regex(RESPONSE_FLAGS, {
        error: 'responseFlags must be a comma-separated list of Envoy flags like UO,URX',
      }),
    )
    .optional(),
});

const latencyCheck = z
  .strictObject({
    type: z.literal('latency'),
    ...commonCheckFields,
    thresholdMs: z
      .number()
      .gt(0, { error: 'thresholdMs must be > 0' })
      .max(3_600_000, { error: 'thresholdMs must be ≤ 3600000' })
      .optional(),
    quantile: z
      .number()
      .min(0.5, { error: 'quantile must be ≥ 0.5' })
      .lt(1, { error: 'quantile must be < 1' })
      .optional(),
  })
  .superRefine((c, ctx) => {
    if ((c.thresholdMs === undefined) === (c.quantile === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['thresholdMs'],
        message: 'a latency check needs exactly one of thresholdMs (fixed SLO) or quantile (stable quantile)',
      });
    }
  });

/**
 * The placeholder a ratio check's expression carries where the judge puts the side's label
 * matchers. Not `{{selector}}`: Argo Rollouts resolves every `{{…}}` of a metric (jsonBody and
 * plugin config alike) and fails the AnalysisRun on one it does not know.
 */
export const SELECTOR_PLACEHOLDER = '$selector';
/** Longest expression accepted (it is sent to Prometheus once per side, in every query). */
export const MAX_EXPRESSION_LENGTH = 2000;

/**
 * A PromQL instant-vector expression of cumulative counters with `$selector` where the side's
 * matchers go, e.g. `catalogo_searches_total{result="empty", $selector}`. Only the placeholder's
 * shape is checked here; Prometheus' own parser checks the rest before the judge uses it.
 */
const expression = (what: string) =>
  z
    .string()
    .max(MAX_EXPRESSION_LENGTH, { error: `${what} must be at most ${MAX_EXPRESSION_LENGTH} characters` })
    .superRefine((s, ctx) => {
      const fail = (message: string): void => ctx.addIssue({ code: 'custom', message });
      if (s.includes('{{') || s.includes('}}')) {
        // `{{{selector}}}` would have been `{$selector}`; a lone `{{` is a typo either way.
        fail(
          `${what} must not contain {{ or }} (Argo Rollouts resolves them itself): write the side's matchers as ${SELECTOR_PLACEHOLDER}, e.g. my_events_total{${SELECTOR_PLACEHOLDER}}`,
        );
        return;
      }
      // eslint-disable-next-line no-control-regex
      if (/[\u0000-\u0008\u000b-\u001f\u007f]/.test(s)) {
        fail(`${what} must not contain control characters`);
        return;
      }
      const names = [...s.matchAll(/\$([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1] as string);
      const unknown = names.find((n) => `$${n}` !== SELECTOR_PLACEHOLDER);
      if (unknown !== undefined) {
        fail(`${what}: unknown placeholder $${unknown} (only ${SELECTOR_PLACEHOLDER} is filled in)`);
        return;
      }
      if (names.length === 0) {
        fail(
          `${what} must contain ${SELECTOR_PLACEHOLDER} where the side's label matchers go, e.g. my_events_total{${SELECTOR_PLACEHOLDER}}`,
        );
      }
    });

/**
 * A count check on the application's own counters: the share of `bad` events among `total`
 * events, canary against stable, with the error-rate check's test (src/judge/checks/ratio.ts).
 */
const ratioCheck = z.strictObject({
  type: z.literal('ratio'),
  ...commonCheckFields,
  bad: expression('bad'),
  total: expression('total'),
});

/** A relative gauge check's defaults: 10 % worse tolerated, 30 % worse must be ruled out to pass. */
export const DEFAULT_GAUGE_TOLERANCE = 0.1;
export const DEFAULT_GAUGE_CRITICAL_EFFECT = 0.3;
/** A gauge check's default power (1 − β): β 0.05, as docs/statistics.md §11 simulates. */
export const DEFAULT_GAUGE_POWER = 0.95;

/** Largest tolerance or critical effect of a gauge check (absolute ones are in the gauge's unit). */
export const MAX_GAUGE_EFFECT = 1e12;

/**
 * A gauge check on the application's own metrics (src/judge/checks/gauge.ts): `value` is one
 * PromQL instant-vector expression with `$selector`; each side's value per interval is compared,
 * paired interval by interval, with the anytime-valid gauge test (src/stats/gauge-test.ts).
 * `tolerance` and `criticalEffect` are degradations: a fraction of the stable's value (scale
 * `relative`, defaults 0.1 and 0.3) or the gauge's own unit (`absolute`: both required).
 */
const gaugeCheck = z
  .strictObject({
    type: z.literal('gauge'),
    name: commonCheckFields.name,
    alpha: commonCheckFields.alpha,
    /** Probability that a canary degraded by criticalEffect does not pass (1 − β), (0, 1). */
    power: commonCheckFields.power,
    weight: commonCheckFields.weight,
    critical: commonCheckFields.critical,
    value: expression('value'),
    direction: z
      .enum(['higher-is-worse', 'lower-is-worse'], {
        error: 'direction must be higher-is-worse or lower-is-worse',
      })
      .optional(),
    scale: z.enum(['relative', 'absolute'], { error: 'scale must be relative or absolute' }).optional(),
    tolerance: z
      .number()
      .min(0, { error: 'tolerance must be ≥ 0' })
      .max(MAX_GAUGE_EFFECT, { error: `tolerance must be ≤ ${MAX_GAUGE_EFFECT}` })
      .optional(),
    criticalEffect: z
      .number()
      .gt(0, { error: 'criticalEffect must be > 0 (a degradation)' })
      .max(MAX_GAUGE_EFFECT, { error: `criticalEffect must be ≤ ${MAX_GAUGE_EFFECT}` })
      .optional(),
  })
  .superRefine((c, ctx) => {
    const issue = (path: string, message: string): void =>
      ctx.addIssue({ code: 'custom', path: [path], message });
    if (c.scale === 'absolute') {
      if (c.tolerance === undefined)
        issue('tolerance', "an absolute gauge check needs tolerance (in the gauge's own unit)");
      if (c.criticalEffect === undefined)
        issue('criticalEffect', "an absolute gauge check needs criticalEffect (in the gauge's own unit)");
    }
    const scale = c.scale ?? 'relative';
    const tolerance = c.tolerance ?? (scale === 'relative' ? DEFAULT_GAUGE_TOLERANCE : undefined);
    const critical = c.criticalEffect ?? (scale === 'relative' ? DEFAULT_GAUGE_CRITICAL_EFFECT : undefined);
    if (tolerance !== undefined && critical !== undefined && critical <= tolerance)
      issue('criticalEffect', `criticalEffect must be greater than tolerance (${tolerance})`);
    if (scale === 'relative' && c.direction === 'lower-is-worse' && critical !== undefined && critical > 1)
      issue('criticalEffect', 'a relative decrease is at most 1 (100 %), so criticalEffect must be ≤ 1');
  });

const checkSchema = z
  .discriminatedUnion('type', [errorRateCheck, latencyCheck, ratioCheck, gaugeCheck], {
    error: 'check type must be error-rate, latency, ratio or gauge',
  })
  .superRefine((c, ctx) => {
    if (c.type === 'gauge') return;
    if (c.criticalEffect !== undefined && c.margin !== undefined && c.criticalEffect <= 1 + c.margin) {
      ctx.addIssue({
        code: 'custom',
        path: ['criticalEffect'],
        message: 'criticalEffect must be greater than 1 + margin',
      });
    }
  });

export const analysisRequestSchema = z
  .strictObject({
    rollout: rolloutSchema,
    selector: selectorSchema,
    start: z
      .union([z.literal(FIRST_SAMPLE), timestamp('start')], {
        error: `start must be "${FIRST_SAMPLE}" or an RFC 3339 time`,
      })
      .default(FIRST_SAMPLE),
    /** Optional end of the window (default: now). For replaying a past rollout. */
    end: timestamp('end').optional(),
    interval: durationSchema.default({ text: '60s', seconds: 60 }),
    /** Scorecard: the analysis Fails when the best reachable score is below this (default 75). */
    failBelow: z
      .number()
      .min(0, { error: 'failBelow must be ≥ 0' })
      .max(100, { error: 'failBelow must be ≤ 100' })
      .optional(),
    /** Also return each check's evidence interval by interval (`timeline`). Default false. */
    timeline: bool.optional(),
    /**
     * Extra equality label matchers applied to every query of both sides, e.g.
     * `{"cluster": "eu-west-1"}` on a query layer over several clusters. Default none.
     */
    matchers: matchersSchema.optional(),
    checks: z
      .array(checkSchema)
      .min(1, { error: 'at least one check is required' })
      .max(10, { error: 'at most 10 checks per analysis' }),
  })
  // Zod runs this even when a field above failed, with that field still raw (an `end` of "" is
  // a string here, a check may be null): look only at values that parsed.
  .superRefine((r, ctx) => {
    const seen = new Set<string>();
    (Array.isArray(r.checks) ? r.checks : []).forEach((c: unknown, i) => {
      if (c === null || typeof c !== 'object') return;
      const { name: given, type } = c as { name?: unknown; type?: unknown };
      const name = typeof given === 'string' ? given : type;
      if (typeof name !== 'string') return;
      if (seen.has(name)) {
        ctx.addIssue({
          code: 'custom',
          path: ['checks', i, 'name'],
          message: `duplicate check name "${name}" (give each check a distinct name)`,
        });
      }
      seen.add(name);
    });
    const mode = (r.selector as { mode?: unknown } | undefined)?.mode;
    if (mode === 'service') {
      (Array.isArray(r.checks) ? r.checks : []).forEach((c: unknown, i) => {
        const type = c !== null && typeof c === 'object' ? (c as { type?: unknown }).type : undefined;
        if (type === 'ratio' || type === 'gauge')
          ctx.addIssue({
            code: 'custom',
            path: ['checks', i, 'type'],
            message: `a ${type} check cannot tell canary from stable by Service (selector mode service): an application's own metrics carry the pod that exported them, not the Service the caller named; use selector mode pod-hash or version`,
          });
      });
    }
    if (r.start instanceof Date && r.start.getTime() > Date.now()) {
      // There is nothing to judge after now: the window would end before it starts.
      ctx.addIssue({ code: 'custom', path: ['start'], message: 'start must not be in the future' });
    } else if (r.start instanceof Date && r.end instanceof Date && r.end.getTime() <= r.start.getTime()) {
      ctx.addIssue({ code: 'custom', path: ['end'], message: 'end must be after start' });
    }
  });

export type AnalysisRequestInput = z.input<typeof analysisRequestSchema>;
export type AnalysisRequest = z.output<typeof analysisRequestSchema>;
export type CheckRequest = AnalysisRequest['checks'][number];
export type ErrorRateCheckRequest = Extract<CheckRequest, { type: 'error-rate' }>;
export type LatencyCheckRequest = Extract<CheckRequest, { type: 'latency' }>;
export type RatioCheckRequest = Extract<CheckRequest, { type: 'ratio' }>;
export type GaugeCheckRequest = Extract<CheckRequest, { type: 'gauge' }>;
export type SelectorRequest = AnalysisRequest['selector'];
export type SelectorMode = SelectorRequest['mode'];

export interface FieldError {
  /** Path of the offending field, e.g. `checks[0].alpha`; `body` for the body itself. */
  readonly field: string;
  readonly message: string;
}

export type ParseResult =
  | { readonly ok: true; readonly value: AnalysisRequest }
  | { readonly ok: false; readonly errors: readonly FieldError[] };

/** `['checks', 0, 'alpha']` → `checks[0].alpha`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? String(p) : `.${String(p)}`;
  }
  return out;
}

/**
 * How a transport names its own forms of a value in messages: a number over HTTP may be a JSON
 * number or a numeric string, a proto double is any double but NaN and ±Infinity.
 */
export interface RequestWording {
  /** Completes "`<field>` must be …" when a number has the wrong type, e.g. "a finite number". */
  readonly number: string;
}

export const DOMAIN_WORDING: RequestWording = { number: 'a finite number' };

/**
 * Validates a request in the judge's model (typed values, as a transport built them); never
 * throws. Field paths are the model's (`checks[0].alpha`); `body` for the request itself.
 */
export function parseAnalysisRequest(input: unknown, wording: RequestWording = DOMAIN_WORDING): ParseResult {
  const r = analysisRequestSchema.safeParse(input);
  if (r.success) return { ok: true, value: r.data };
  const errors = r.error.issues.map((issue) => {
    let path = formatPath(issue.path);
    let message = issue.message;
    if (issue.code === 'invalid_type' && path === '') {
      message = 'the request body must be a JSON object';
    } else if (issue.code === 'invalid_type' && issue.expected === 'number') {
      message = `${path} must be ${wording.number}`;
    } else if (issue.code === 'invalid_type' && REQUIRED.has(path) && isMissing(input, issue.path)) {
      message = `${path} is required`;
    }
    if (issue.code === 'unrecognized_keys') {
      const keys = issue.keys;
      path = formatPath([...issue.path, keys[0] ?? '']);
      message = `unknown field${keys.length > 1 ? 's' : ''}: ${keys.join(', ')}`;
    }
    return { field: path === '' ? 'body' : path, message };
  });
  return { ok: false, errors };
}

/** Top-level fields without a default. */
const REQUIRED: ReadonlySet<string> = new Set(['rollout', 'selector', 'checks']);

function isMissing(input: unknown, path: readonly PropertyKey[]): boolean {
  let v: unknown = input;
  for (const key of path) {
    if (v === null || typeof v !== 'object') return true;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v === undefined;
}

/**
 * The judge's one duration grammar, shared by its configuration (src/config) and the analysis
 * request (src/judge/request.ts): a whole number followed by one unit, `ms`, `s`, `m` or `h`
 * (`500ms`, `5s`, `2m`, `24h`). No sign, no fraction, no compound forms (`1m30s`), no spaces.
 * Each use chooses which of the units it accepts and the range it allows.
 *
 * The plugin configuration's `timeout` is not written in this grammar: it is the metric plugin's
 * own key, read by the plugin with Go's time.ParseDuration (the judge ignores it).
 */

export type DurationUnit = 'ms' | 's' | 'm' | 'h';

export const DURATION_UNITS: readonly DurationUnit[] = ['ms', 's', 'm', 'h'];

const UNIT_MS: Readonly<Record<DurationUnit, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

const GRAMMAR = /^(\d+)(ms|s|m|h)$/;

export interface Duration {
  /** The text as written, e.g. "90s". */
  readonly text: string;
  readonly ms: number;
  readonly unit: DurationUnit;
}

/**
 * Reads `text` in the grammar, accepting only `units` (default: all four); undefined when it
 * is not a duration in one of them. Leading zeros are accepted (`05s` is 5 s).
 */
export function parseDuration(
  text: string,
  units: readonly DurationUnit[] = DURATION_UNITS,
): Duration | undefined {
  const m = GRAMMAR.exec(text);
  if (m === null) return undefined;
  const unit = m[2] as DurationUnit;
  if (!units.includes(unit)) return undefined;
  // A huge number of digits gives a huge (or infinite) value, which each use's range refuses.
  return { text, ms: Number(m[1]) * UNIT_MS[unit], unit };
}

/**
 * The two sides of a check on an application's own metrics (ratio, gauge): the side's matchers
 * for `$selector`, and the refusal of a series that is not one of the side's pods.
 */
import type { AppLabels, AppSide } from '../../prometheus/expression.js';
import type { Series } from '../../prometheus/client.js';
import { describeLabels } from '../range-answer.js';
import type { CheckContext } from './kind.js';

export function sideOf(ctx: CheckContext, side: 'canary' | 'stable'): AppSide {
  const s = ctx.appSides?.[side];
  // The request schema refuses a ratio or gauge check in a selector mode without app matchers.
  if (s === undefined || s === null)
    throw new Error('check of application metrics without application matchers (selector mode service)');
  return s;
}

/**
 * The first series of an answer that is not one of the side's pods (another namespace, another
 * rollout's pod, or its pod label summed away), described; undefined when all are the side's.
 * Such a series comes from a part of the expression without `$selector` (`… or other{…}`).
 */
export function foreignSeries(
  series: readonly Series[],
  side: AppSide,
  labels: AppLabels,
): string | undefined {
  const s = series.find(
    (x) => x.labels[labels.namespace] !== side.namespace || !side.isPod(x.labels[labels.pod] ?? ''),
  );
  return s === undefined ? undefined : describeLabels(s.labels);
}

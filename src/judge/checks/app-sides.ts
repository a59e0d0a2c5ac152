/**
 * The two sides of a check on an application's own metrics (ratio, gauge): which pods each side
 * is, and the refusal of a series that is not one of the side's pods.
 */
import { podPattern, type AppLabels, type Series, type SideSelector } from '../metrics-source.js';
import { describeLabels } from '../range-answer.js';

/** One side for an application's metrics: the namespace and pod names every series of its answers must carry. */
export interface AppSide {
  readonly namespace: string;
  /** Whether a pod name is one of this side's (for version mode: one of the rollout's). */
  readonly isPod: (pod: string) => boolean;
}

/**
 * The side's pods for application metrics; null in a selector mode that has no matchers for them
 * (`service`: an application's series do not say which Service a caller named).
 */
export function appSide(side: SideSelector): AppSide | null {
  if (side.mode === 'service') return null;
  const pod = new RegExp(`^(?:${podPattern(side)})$`);
  return { namespace: side.namespace, isPod: (p) => pod.test(p) };
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

/**
 * Prometheus as the judge's metrics source (src/judge/metrics-source.ts): a check's request
 * rendered as PromQL (the mesh's named templates, ./promql.ts; the caller's expressions,
 * ./expression.ts), run as a range query by the client (./client.ts), and Prometheus' own
 * limits: 11,000 points per series, and its parser for the caller's expressions.
 */

import { JudgeError } from '../errors.js';
import {
  bothSidesPodPattern,
  podPattern,
  type AppLabels,
  type MeshNames,
  type MetricsSource,
  type SideSelector,
} from '../judge/metrics-source.js';
import type { PrometheusClient } from './client.js';
import { byPod, fillSelector, renderAppSelector } from './expression.js';
import { TemplateError, namedQuery, renderSelector, selectorLabels } from './promql.js';

/** Prometheus answers at most 11,000 points per series. */
export const MAX_POINTS = 11_000;

export function createPrometheusSource(
  client: Pick<PrometheusClient, 'queryRange' | 'resultType'>,
  names: { readonly mesh: MeshNames; readonly app: AppLabels },
): MetricsSource {
  const { mesh, app } = names;
  const appMatchers = (side: SideSelector): string => {
    const matchers = renderAppSelector(side, app);
    // The request schema refuses a check of application metrics in a mode without matchers.
    if (matchers === null)
      throw new TemplateError(`selector mode ${side.mode} has no matchers for application metrics`);
    return matchers;
  };
  return {
    maxPoints: MAX_POINTS,
    ownLabels: new Set([...selectorLabels(mesh), app.namespace, app.pod, app.version]),
    query(request) {
      if ('series' in request) {
        const both =
          request.alongside === undefined ? undefined : bothSidesPodPattern(request.side, request.alongside);
        if (both === undefined)
          return namedQuery(request.series, { selector: renderSelector(request.side, mesh) }, mesh);
        // One query for both sides; each keeps the series of its own pods.
        const own = new RegExp(`^(?:${podPattern(request.side)})$`);
        const pod = mesh.labels.pod;
        return {
          ...namedQuery(request.series, { selector: renderSelector(request.side, mesh, both) }, mesh),
          pick: (series) => series.filter((s) => own.test(s.labels[pod] ?? '')),
        };
      }
      return byPod(
        request.perPod,
        fillSelector(request.expression, appMatchers(request.side)),
        app,
        mesh.scrapeLabels,
      );
    },
    fetch: (query, grid, options) => client.queryRange(query.text, grid, options),
    async checkExpression({ field, expression, side, holds }, options) {
      const promql = fillSelector(expression, appMatchers(side));
      let type: string;
      try {
        type = await client.resultType(promql, options);
      } catch (e) {
        if (e instanceof JudgeError && e.code === 'invalid_request')
          throw new JudgeError('invalid_request', `${field} (${promql}): ${e.message}`, { field });
        throw e;
      }
      if (type !== 'vector')
        throw new JudgeError(
          'invalid_request',
          `${field} (${promql}) must be an instant vector of ${holds}; Prometheus reads it as a ${type === 'matrix' ? 'range vector' : type}`,
          { field },
        );
    },
  };
}

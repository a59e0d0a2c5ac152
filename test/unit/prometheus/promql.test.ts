import { describe, expect, it } from 'vitest';
import { regexEscape, type MeshNames } from '../../../src/judge/metrics-source.js';
import {
  ISTIO_NAMES,
  TemplateError,
  namedQuery,
  quote,
  render,
  renderQuery,
  renderSelector,
} from '../../../src/prometheus/promql.js';

const side = (
  mode: 'pod-hash' | 'service' | 'version',
  value: string,
  rollout = 'catalogo',
  namespace = 'shop',
) => ({
  mode,
  rollout,
  namespace,
  value,
});

describe('PromQL rendering', () => {
  it('renders the pod-hash selector with reporter=destination and a one-segment pod suffix', () => {
    expect(renderSelector(side('pod-hash', '6b7f9c8d5'), ISTIO_NAMES)).toBe(
      'reporter="destination", destination_workload_namespace="shop", pod=~"catalogo-6b7f9c8d5-[a-z0-9]+"',
    );
  });

  it('renders the service selector with reporter=source and the Service name', () => {
    expect(renderSelector(side('service', 'catalogo-canary'), ISTIO_NAMES)).toBe(
      'reporter="source", destination_service_namespace="shop", destination_service_name="catalogo-canary"',
    );
  });

  it('renders the version selector scoped to the rollout workload', () => {
    expect(renderSelector(side('version', 'v1.2'), ISTIO_NAMES)).toBe(
      'reporter="destination", destination_workload_namespace="shop", destination_workload="catalogo", destination_version="v1.2"',
    );
  });

  it('appends extra matchers after the own matchers of the side, sorted by name, values quoted', () => {
    expect(
      renderSelector(
        {
          ...side('pod-hash', '6b7f9c8d5'),
          matchers: { region: 'eu', cluster: 'eu-west-1"} or vector(1) #' },
        },
        ISTIO_NAMES,
      ),
    ).toBe(
      'reporter="destination", destination_workload_namespace="shop", pod=~"catalogo-6b7f9c8d5-[a-z0-9]+", cluster="eu-west-1\\"} or vector(1) #", region="eu"',
    );
    expect(renderSelector({ ...side('service', 'c'), matchers: {} }, ISTIO_NAMES)).toBe(
      renderSelector(side('service', 'c'), ISTIO_NAMES),
    );
  });

  it('refuses an extra matcher on a label the selector sets or a name outside the grammar', () => {
    for (const name of ['pod', 'reporter', '__name__', 'le', 'a-b', '1a'])
      expect(() =>
        renderSelector({ ...side('pod-hash', 'abc'), matchers: { [name]: 'x' } }, ISTIO_NAMES),
      ).toThrow(TemplateError);
  });

  it('renders the raw counters per pod (and code, or le) and the presence query exactly', () => {
    const selector = renderSelector(side('pod-hash', 'abc12'), ISTIO_NAMES);
    expect(renderQuery('requestsByCode', { selector }, ISTIO_NAMES)).toBe(
      'sum by (pod, response_code) (max without (job, instance) (istio_requests_total{reporter="destination", destination_workload_namespace="shop", pod=~"catalogo-abc12-[a-z0-9]+"}))',
    );
    expect(renderQuery('latencyBuckets', { selector }, ISTIO_NAMES)).toBe(
      'sum by (pod, le) (max without (job, instance) (istio_request_duration_milliseconds_bucket{reporter="destination", destination_workload_namespace="shop", pod=~"catalogo-abc12-[a-z0-9]+"}))',
    );
    expect(renderQuery('presence', { selector }, ISTIO_NAMES)).toBe(
      'sum(max without (job, instance) (istio_requests_total{reporter="destination", destination_workload_namespace="shop", pod=~"catalogo-abc12-[a-z0-9]+"}))',
    );
  });

  it('groups by the response flags too when a check counts flags as errors', () => {
    const selector = renderSelector(side('service', 'catalogo-canary'), ISTIO_NAMES);
    expect(renderQuery('requestsByCodeAndFlags', { selector }, ISTIO_NAMES)).toBe(
      'sum by (pod, response_code, response_flags) (max without (job, instance) (istio_requests_total{reporter="source", destination_service_namespace="shop", destination_service_name="catalogo-canary"}))',
    );
  });

  it('uses configured metric and label names for other meshes, in the query and its shape', () => {
    const linkerdish: MeshNames = {
      requestsMetric: 'response_total',
      durationMetric: 'response_latency_ms',
      labels: { ...ISTIO_NAMES.labels, reporter: 'direction', responseCode: 'status_code', pod: 'pod_name' },
    };
    const selector = renderSelector(side('pod-hash', 'abc12'), linkerdish);
    expect(namedQuery('requestsByCode', { selector }, linkerdish)).toEqual({
      text: 'sum by (pod_name, status_code) (response_total{direction="destination", destination_workload_namespace="shop", pod_name=~"catalogo-abc12-[a-z0-9]+"})',
      shape: { kind: 'one-per', labels: ['pod_name', 'status_code'], required: [] },
    });
    expect(namedQuery('latencyBuckets', { selector }, linkerdish).shape).toEqual({
      kind: 'one-per',
      labels: ['pod_name', 'le'],
      required: ['le'],
    });
  });

  it('keeps one of each series scraped twice by the configured labels, or sums as they come with none', () => {
    const selector = renderSelector(side('pod-hash', 'abc12'), ISTIO_NAMES);
    const ha: MeshNames = { ...ISTIO_NAMES, scrapeLabels: ['job', 'instance', 'prometheus_replica'] };
    expect(renderQuery('requestsByCode', { selector }, ha)).toBe(
      'sum by (pod, response_code) (max without (job, instance, prometheus_replica) (istio_requests_total{reporter="destination", destination_workload_namespace="shop", pod=~"catalogo-abc12-[a-z0-9]+"}))',
    );
    expect(renderQuery('requestsByCode', { selector }, { ...ISTIO_NAMES, scrapeLabels: [] })).toBe(
      'sum by (pod, response_code) (istio_requests_total{reporter="destination", destination_workload_namespace="shop", pod=~"catalogo-abc12-[a-z0-9]+"})',
    );
  });

  it('escapes regex metacharacters of a dotted rollout name inside the pod pattern', () => {
    expect(renderSelector(side('pod-hash', 'abc12', 'web.v2'), ISTIO_NAMES)).toContain(
      'pod=~"web\\\\.v2-abc12-[a-z0-9]+"',
    );
  });

  it('quotes label values so that quotes and backslashes cannot close the string', () => {
    expect(quote('abc"} or vector(1) #')).toBe('"abc\\"} or vector(1) #"');
    expect(quote('a\\b\nc')).toBe('"a\\\\b\\nc"');
    expect(regexEscape('a.b*c(d)[e]{f}|g+h?^$\\')).toBe(
      'a\\.b\\*c\\(d\\)\\[e\\]\\{f\\}\\|g\\+h\\?\\^\\$\\\\',
    );
  });

  it('fails on a missing template variable instead of rendering a broken query', () => {
    expect(() => render('sum({{metric}}{{{selector}}})', { metric: 'x' })).toThrow(TemplateError);
    expect(() => render('sum({{metric}}{{{selector}}})', { metric: 'x' })).toThrow(/"selector" is missing/);
    expect(() => render('sum({{metric}}{{{selector}}})', { selector: 'a="b"' })).toThrow(
      /"metric" is missing/,
    );
  });
});

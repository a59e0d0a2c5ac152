/**
 * The Prometheus source's query for both sides of an analysis: when one query can serve the
 * canary and the stable, and that each side keeps exactly its own pods' series of the answer.
 */

import { describe, expect, it } from 'vitest';
import {
  DEFAULT_APP_LABELS,
  bothSidesPodPattern,
  type Series,
  type SideSelector,
} from '../../../src/judge/metrics-source.js';
import { ISTIO_NAMES } from '../../../src/prometheus/promql.js';
import { createPrometheusSource } from '../../../src/prometheus/source.js';

const side = (value: string, extra: Partial<SideSelector> = {}): SideSelector => ({
  mode: 'pod-hash',
  rollout: 'catalogo',
  namespace: 'shop',
  value,
  ...extra,
});
const canary = side('abc12');
const stable = side('def34');

const unused = async (): Promise<never> => {
  throw new Error('not queried here');
};
const source = createPrometheusSource(
  { queryRange: unused, resultType: unused },
  { mesh: ISTIO_NAMES, app: DEFAULT_APP_LABELS },
);

const pod = (name: string, code = '200'): Series => ({
  labels: { pod: name, response_code: code },
  samples: [{ t: 0, v: 1 }],
});

describe('one query for both sides', () => {
  it('renders the same text for either side, the hashes sorted', () => {
    const a = source.query({ series: 'requestsByCode', side: canary, alongside: stable });
    const b = source.query({ series: 'requestsByCode', side: stable, alongside: canary });
    expect(a.text).toBe(b.text);
    expect(a.text).toContain('pod=~"catalogo-(?:abc12|def34)-[a-z0-9]+"');
  });

  it('hands each side only its own pods, never a Rollout whose name extends ours', () => {
    const answer = [
      pod('catalogo-abc12-x1'),
      pod('catalogo-abc12-x1', '503'),
      pod('catalogo-def34-y1'),
      pod('catalogo-def34-y2'),
      pod('catalogo-abc12-x1-extra'),
      pod('catalogo-abc123-x1'),
    ];
    const pick = (s: SideSelector, other: SideSelector): string[] => {
      const q = source.query({ series: 'requestsByCode', side: s, alongside: other });
      expect(q.pick).toBeDefined();
      return (q.pick?.(answer) ?? []).map((x) => `${x.labels['pod']}/${x.labels['response_code']}`);
    };
    expect(pick(canary, stable)).toEqual(['catalogo-abc12-x1/200', 'catalogo-abc12-x1/503']);
    expect(pick(stable, canary)).toEqual(['catalogo-def34-y1/200', 'catalogo-def34-y2/200']);
  });

  it('keeps one query per side when the sides cannot be told apart by pod name', () => {
    expect(bothSidesPodPattern(side('abc12', { mode: 'version' }), side('def34', { mode: 'version' }))).toBe(
      undefined,
    );
    expect(bothSidesPodPattern(canary, side('def34', { rollout: 'other' }))).toBe(undefined);
    expect(bothSidesPodPattern(canary, side('def34', { namespace: 'other' }))).toBe(undefined);
    expect(
      bothSidesPodPattern(
        side('abc12', { matchers: { cluster: 'a' } }),
        side('def34', { matchers: { cluster: 'b' } }),
      ),
    ).toBe(undefined);
    const q = source.query({
      series: 'requestsByCode',
      side: side('abc12', { mode: 'version' }),
      alongside: side('def34', { mode: 'version' }),
    });
    expect(q.pick).toBeUndefined();
    expect(q.text).toContain('destination_version="abc12"');
    expect(q.text).not.toContain('def34');
  });

  it('shares the extra matchers of both sides, and reads equal hashes as one', () => {
    const m = { cluster: 'eu-west-1' };
    expect(bothSidesPodPattern(side('abc12', { matchers: m }), side('def34', { matchers: { ...m } }))).toBe(
      'catalogo-(?:abc12|def34)-[a-z0-9]+',
    );
    expect(bothSidesPodPattern(canary, side('abc12'))).toBe('catalogo-abc12-[a-z0-9]+');
  });

  it('escapes what it puts in the regex', () => {
    expect(bothSidesPodPattern(side('a.b', { rollout: 'r.x' }), side('c+d', { rollout: 'r.x' }))).toBe(
      'r\\.x-(?:a\\.b|c\\+d)-[a-z0-9]+',
    );
  });
});

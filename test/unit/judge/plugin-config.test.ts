/**
 * The plugin configuration's rules (src/judge/plugin-config.ts) know no request field and no
 * check kind: whatever a check or a top-level field holds — a kind added after the plugin was
 * built, with fields of its own — reaches the request model as written, but for the unset
 * values (null, blank strings) and the plugin's own keys. What the model then accepts is the
 * model's business, so a kind added to it in TypeScript is usable through the plugin as it is.
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pluginRequestBody, type PluginRun } from '../../../src/judge/plugin-config.js';

const RUN: PluginRun = {
  name: 'catalogo-6b7f9c8d5-2-1',
  namespace: 'shop',
  rollout: 'catalogo',
  labels: { 'rollouts-pod-template-hash': '6b7f9c8d5' },
};

/** Values a template may write: set ones, and the unset forms. */
const setValue = fc.oneof(
  fc.string({ minLength: 1 }).filter((s) => s.trim() !== ''),
  fc.double({ noNaN: true }),
  fc.boolean(),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.dictionary(fc.string({ minLength: 1 }), fc.string(), { maxKeys: 3 }),
);
const unsetValue = fc.constantFrom(null, '', '  ');
const key = fc
  .string({ minLength: 1, maxLength: 12 })
  .filter((k) => !['__proto__', 'constructor'].includes(k));

describe('pluginRequestBody', () => {
  it('passes any check through as written, but for its unset values', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.dictionary(key, setValue), fc.dictionary(key, unsetValue)), {
          minLength: 1,
          maxLength: 4,
        }),
        (pairs) => {
          const checks = pairs.map(([set, unset]) => ({ ...unset, ...set }));
          const r = pluginRequestBody({ selector: { stable: '5d4c7b9f8' }, checks }, RUN);
          expect(r.ok && r.body['checks']).toEqual(pairs.map(([set]) => set));
        },
      ),
    );
  });

  it('passes any top-level field through as written, but for the plugin’s own keys', () => {
    fc.assert(
      fc.property(
        fc.dictionary(
          key.filter((k) => !['rollout', 'selector', 'checks', 'address', 'timeout'].includes(k)),
          setValue,
        ),
        (fields) => {
          const r = pluginRequestBody(
            { ...fields, address: 'judge-b:9090', timeout: '5s', selector: { stable: 'def' } },
            RUN,
          );
          expect(r.ok).toBe(true);
          if (!r.ok) return;
          const { rollout: _r, selector: _s, ...rest } = r.body;
          expect(rest).toEqual(fields);
        },
      ),
    );
  });

  it('fills the Rollout and the canary from the run, and keeps what the template says', () => {
    expect(pluginRequestBody({ selector: { stable: 'def' }, checks: [] }, RUN)).toEqual({
      ok: true,
      body: {
        rollout: { name: 'catalogo', namespace: 'shop' },
        selector: { mode: 'pod-hash', canary: '6b7f9c8d5', stable: 'def' },
        checks: [],
      },
    });
    expect(
      pluginRequestBody(
        { rollout: { name: 'other', namespace: 'ns' }, selector: { mode: 'version', canary: 'v2' } },
        RUN,
      ),
    ).toEqual({
      ok: true,
      body: { rollout: { name: 'other', namespace: 'ns' }, selector: { mode: 'version', canary: 'v2' } },
    });
  });

  it('leaves a wrongly typed rollout or selector for the model to refuse', () => {
    const r = pluginRequestBody({ rollout: 'catalogo', selector: [1], checks: 'all' }, RUN);
    expect(r).toEqual({ ok: true, body: { rollout: 'catalogo', selector: [1], checks: 'all' } });
  });
});

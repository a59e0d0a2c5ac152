import { describe, expect, it } from 'vitest';
import { bearerCheck } from '../../../src/server/auth.js';

describe('bearerCheck', () => {
  const check = bearerCheck('s3cret-token');

  it('accepts the configured token, whatever the case of the scheme', () => {
    expect(check('Bearer s3cret-token')).toBe(true);
    expect(check('bearer s3cret-token')).toBe(true);
    expect(check('Bearer   s3cret-token  ')).toBe(true);
  });

  it('refuses another token, a prefix of it, another scheme, or nothing', () => {
    expect(check('Bearer s3cret-tokeN')).toBe(false);
    expect(check('Bearer s3cret')).toBe(false);
    expect(check('Basic s3cret-token')).toBe(false);
    expect(check('s3cret-token')).toBe(false);
    expect(check('Bearer ')).toBe(false);
    expect(check(undefined)).toBe(false);
    expect(check(Buffer.from('Bearer s3cret-token'))).toBe(false);
  });

  it('accepts every caller when no token is configured', () => {
    expect(bearerCheck(undefined)(undefined)).toBe(true);
  });
});

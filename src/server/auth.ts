/**
 * The bearer token both transports require when one is configured (HTTP `Authorization`
 * header, gRPC `authorization` metadata): `Bearer <token>`, scheme case-insensitive. The
 * comparison is constant-time over SHA-256 digests, so neither the token's bytes nor its length
 * leak through timing.
 */

import { createHash, timingSafeEqual } from 'node:crypto';

/** True when the credential presented (header or metadata value, if any) is accepted. */
export type BearerCheck = (presented: unknown) => boolean;

const BEARER = /^Bearer\s+(\S+)\s*$/i;

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** A check for `token`; with no token configured every caller is accepted. */
export function bearerCheck(token: string | undefined): BearerCheck {
  if (token === undefined) return () => true;
  const expected = digest(token);
  return (presented) => {
    const m = typeof presented === 'string' ? BEARER.exec(presented) : null;
    return m !== null && timingSafeEqual(digest(m[1] as string), expected);
  };
}

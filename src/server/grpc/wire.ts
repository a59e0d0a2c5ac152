/**
 * A walk over the protobuf wire format of an AnalyzeRequest that refuses what the generated
 * decoder would silently accept: unknown field numbers (proto3 skips them, the HTTP API refuses
 * unknown keys, and both transports must accept exactly the same requests), a known field with
 * the wrong wire type (the decoder skips it as if unknown), groups, and truncated bytes. The
 * table follows proto/canary_judge/v1/judge.proto; test/unit/server/grpc/wire.test.ts fails when they
 * drift apart.
 */

/** Scalar kinds used by the request messages, or the name of a message. */
export type FieldKind = 'string' | 'double' | 'bool' | RequestMessage;

export type RequestMessage =
  | 'AnalyzeRequest'
  | 'Rollout'
  | 'Selector'
  | 'SidePair'
  | 'Check'
  | 'ErrorRateCheck'
  | 'LatencyCheck'
  | 'RatioCheck'
  | 'GaugeCheck';

export const REQUEST_FIELDS: Readonly<Record<RequestMessage, Readonly<Record<number, FieldKind>>>> = {
  AnalyzeRequest: {
    1: 'Rollout',
    2: 'Selector',
    3: 'string',
    4: 'string',
    5: 'string',
    6: 'Check',
    7: 'double',
    8: 'bool',
  },
  Rollout: { 1: 'string', 2: 'string' },
  Selector: { 1: 'SidePair', 2: 'SidePair', 3: 'SidePair' },
  SidePair: { 1: 'string', 2: 'string' },
  Check: {
    1: 'string',
    2: 'double',
    3: 'double',
    4: 'double',
    5: 'double',
    6: 'double',
    7: 'bool',
    8: 'double',
    10: 'ErrorRateCheck',
    11: 'LatencyCheck',
    12: 'RatioCheck',
    13: 'GaugeCheck',
  },
  ErrorRateCheck: { 1: 'string', 2: 'string' },
  LatencyCheck: { 1: 'double', 2: 'double' },
  RatioCheck: { 1: 'string', 2: 'string' },
  GaugeCheck: { 1: 'string', 2: 'string', 3: 'string', 4: 'double' },
};

const WIRE_TYPE: Readonly<Record<'string' | 'double' | 'bool', number>> = { string: 2, double: 1, bool: 0 };

function wireTypeOf(kind: FieldKind): number {
  return kind === 'string' || kind === 'double' || kind === 'bool' ? WIRE_TYPE[kind] : 2;
}

class WireError extends Error {}

/** Reads a varint at `pos`; returns [value (≤ 2^53 is all this needs), next position]. */
function varint(b: Uint8Array, pos: number): [number, number] {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= b.length) throw new WireError('truncated varint');
    const byte = b[pos++] as number;
    value += (byte & 0x7f) * scale;
    if ((byte & 0x80) === 0) return [value, pos];
    scale *= 128;
  }
  throw new WireError('varint longer than 10 bytes');
}

function walk(b: Uint8Array, start: number, end: number, message: RequestMessage, path: string): void {
  const fields = REQUEST_FIELDS[message];
  let pos = start;
  while (pos < end) {
    const [tag, afterTag] = varint(b, pos);
    pos = afterTag;
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    const kind = fields[field];
    if (field === 0) throw new WireError(`field number 0 in ${path}`);
    if (kind === undefined) throw new WireError(`unknown field ${field} in ${path}`);
    if (wire !== wireTypeOf(kind))
      throw new WireError(`field ${field} of ${path} has wire type ${wire}, expected ${wireTypeOf(kind)}`);
    switch (wire) {
      case 0:
        pos = varint(b, pos)[1];
        break;
      case 1:
        pos += 8;
        break;
      case 2: {
        const [len, afterLen] = varint(b, pos);
        pos = afterLen + len;
        if (pos > end) throw new WireError(`field ${field} of ${path} runs past the end of the message`);
        if (kind !== 'string') walk(b, afterLen, pos, kind as RequestMessage, `${path}.${field}`);
        break;
      }
    }
    if (pos > end) throw new WireError(`truncated field ${field} in ${path}`);
  }
}

/** Undefined when `bytes` holds only known fields of an AnalyzeRequest, else what is wrong. */
export function wireProblem(bytes: Uint8Array): string | undefined {
  try {
    walk(bytes, 0, bytes.length, 'AnalyzeRequest', 'AnalyzeRequest');
    return undefined;
  } catch (e) {
    if (e instanceof WireError) return e.message;
    throw e;
  }
}

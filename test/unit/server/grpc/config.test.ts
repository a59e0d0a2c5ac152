/** CANARY_JUDGE_GRPC_PORT: where the gRPC API listens, or that it does not. */

import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../../src/config/index.js';

const env = (port?: string) => ({
  CANARY_JUDGE_PROMETHEUS_URL: 'http://prometheus:9090',
  CANARY_JUDGE_GRPC_PORT: port,
});

describe('gRPC listen port', () => {
  it.each([
    [undefined, 9090],
    ['', 9090],
    ['9091', 9091],
    ['0', 0],
    ['off', null],
  ])('reads %j as %j', (raw, port) => {
    expect(loadConfig(env(raw)).grpcPort).toBe(port);
  });

  it.each(['nope', '70000', '-1', '90 90'])('refuses %j, saying what it takes', (raw) => {
    expect(() => loadConfig(env(raw))).toThrow(ConfigError);
    expect(() => loadConfig(env(raw))).toThrow(
      /CANARY_JUDGE_GRPC_PORT=".*" must be a port \(0-65535, 0 = any free port\) or off/,
    );
  });
});

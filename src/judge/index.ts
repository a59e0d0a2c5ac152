export * from './judge.js';
export type * from './types.js';

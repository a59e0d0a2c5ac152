/** Public surface of the statistics engine. Pure functions only: no I/O, no config parsing. */
export type * from './types.js';
export * from './histogram.js';
export * from './count-test.js';
export * from './distributions.js';
export * from './scorecard.js';
export { DEFAULT_MIXTURE, type MixtureComponent } from './sequential.js';
export { EFFECT_CONFIDENCE, rateRatio } from './effect.js';
export { rateBounds, type RateBounds } from './rate-bound.js';
export { countTestPower, runningPower } from './power.js';
export * from './gauge-test.js';

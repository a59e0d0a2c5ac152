/** The API contract gate: a contract's safe requests replayed against canary and stable. */
export { createContractChecker, type ContractChecker, type ContractCheckResult } from './check.js';
export { createFetchAnswer } from './fetch.js';
export { parseTargetPatterns, type TargetPattern } from './targets.js';

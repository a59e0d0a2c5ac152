export * from './server.js';
export * from './status.js';
export {
  toAnalyzeResponse,
  toProtoField,
  toProtoFieldError,
  toRequestModel,
  VERDICT,
  REASON,
  CHECK_TYPE,
  SCORECARD_REASON,
} from './mapping.js';

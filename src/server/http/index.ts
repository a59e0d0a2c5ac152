export * from './app.js';
export * from './request-body.js';
export * from './client-errors.js';

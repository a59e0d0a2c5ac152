export * from './app.js';
export * from './schema.js';
export * from './client-errors.js';

export * from './app.js';
export * from './schema.js';

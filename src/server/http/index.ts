export * from './app.js';
export * from '../../judge/request.js';
export * from './client-errors.js';

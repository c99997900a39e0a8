export * from './requests.ts';
export * from './socket-mode.ts';
export * from './state.ts';
export * from './validation.ts';
export * from './web-api.ts';

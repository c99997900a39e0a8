export * from './requests.ts';
export * from './state.ts';
export * from './validation.ts';
export * from './web-api.ts';

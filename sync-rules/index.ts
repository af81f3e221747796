/**
 * Pure sync rules: no I/O, no clock, no randomness — safe to import from Temporal workflow code and from activities.
 */
export * from './types.js';
export * from './settings.js';
export * from './title-template.js';
export * from './event-id.js';
export * from './time-mapping.js';
export * from './contact-details.js';
export * from './event-properties.js';
export * from './mapping.js';
export * from './content-hash.js';
export * from './echo.js';
export * from './conflict.js';

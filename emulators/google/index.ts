/**
 * Google Calendar API v3 emulator: a real HTTP server the official `@googleapis/calendar` client and
 * google-auth-library's OAuth2Client talk to unchanged. See docs/emulators.md.
 */
export { startGoogleEmulator } from './server.js';
export type { GoogleEmulator, GoogleEmulatorOptions } from './server.js';
export type { GoogleControl, GoogleStats, CreatedUser, CalendarListEntryInfo, EventInspection } from './control.js';
export type { InvitationRecord } from './events.js';
export type { Channel, PushStats } from './push.js';
export type { AccessRole, GoogleEvent } from './store.js';
export type { FaultConfig } from '../shared/faults.js';

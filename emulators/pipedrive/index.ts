/**
 * A faithful local Pipedrive (API v2 activities/deals/persons/organizations, v1 users/activity types/
 * webhooks, OAuth) for tests, benchmarks and sandbox mode. See docs/emulators.md.
 *
 * Official client against it:
 *   new ActivitiesApi(new v2.Configuration({ apiKey: token, basePath: `${emu.url}/api/v2` }))
 *   new WebhooksApi(new v1.Configuration({ apiKey: token, basePath: `${emu.url}/v1` }))
 */
export { startPipedriveEmulator } from './server.js';
export type { PipedriveEmulator, PipedriveEmulatorOptions } from './server.js';
export type { PipedriveControl, CreatedUser, WebhookInfo } from './control.js';
export type { PipedriveStats } from './stats.js';
export type { ActivityInput } from './activities.js';
export type { DealInput, PersonInput, OrganizationInput } from './entities.js';
export type { RateLimitSettings } from './rate-limit.js';
export { TOKEN_COSTS } from './rate-limit.js';
export type { ChangeEvent, ChangeRecord } from './webhooks.js';
export type { FaultConfig } from '../shared/faults.js';

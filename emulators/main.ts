/**
 * `npm run emulators` — both API emulators standalone, with demo data, on fixed ports (override with
 * GOOGLE_EMULATOR_PORT / PIPEDRIVE_EMULATOR_PORT). State is in memory; Ctrl-C stops them.
 */
import { seedDemo } from './demo-data.js';
import { startGoogleEmulator } from './google/index.js';
import { startPipedriveEmulator } from './pipedrive/index.js';

const google = await startGoogleEmulator({
  port: Number(process.env.GOOGLE_EMULATOR_PORT ?? 4010),
  // The sandbox's receiver is plain loopback HTTP; real Google requires HTTPS push addresses.
  allowInsecurePushAddresses: true,
});
const pipedrive = await startPipedriveEmulator({ port: Number(process.env.PIPEDRIVE_EMULATOR_PORT ?? 4020) });
const demo = seedDemo(google, pipedrive);

console.log(`Google Calendar API emulator   ${google.url}  (rootUrl for @googleapis/calendar: ${google.url}/)`);
console.log(`Pipedrive API emulator         ${pipedrive.url}  (v2 basePath ${pipedrive.url}/api/v2)`);
console.log(`Demo Pipedrive user ${demo.pipedrive.userId}, API token ${demo.pipedrive.apiToken}`);
console.log(`Demo Google user ${demo.google.email}, calendar "${demo.google.primaryCalendarId}"`);
console.log('Control APIs: /_emulator/… on each (docs/emulators.md). Ctrl-C stops.');

const stop = async () => {
  await Promise.all([google.close(), pipedrive.close()]);
  process.exit(0);
};
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());

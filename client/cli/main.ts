#!/usr/bin/env node
/**
 * `calendar-sync` — the admin CLI (see `calendar-sync help`). Configured by CALENDAR_SYNC_URL and
 * CALENDAR_SYNC_ADMIN_TOKEN; talks to the sync's HTTP server only.
 */
import { runCli } from './commands.js';
import { runMain } from './run-main.js';

runMain(() => runCli(process.argv.slice(2), { env: process.env, stdout: process.stdout, stderr: process.stderr }));

/**
 * The emulator's whole state, in memory: users and their OAuth tokens, calendars with their events, and a global
 * change counter. Every event write takes the next counter value; sync tokens are "changes after counter N", so an
 * incremental list is exact no matter how fast writes happen.
 */
import { seededRandom } from '../shared/random.js';
import type { EventDateTime } from './time.js';

export type AccessRole = 'freeBusyReader' | 'reader' | 'writer' | 'owner';
export const ROLE_RANK: Record<AccessRole, number> = { freeBusyReader: 0, reader: 1, writer: 2, owner: 3 };

/** An event resource exactly as the API returns it. */
export interface GoogleEvent {
  kind: 'calendar#event';
  id: string;
  etag: string;
  status: 'confirmed' | 'tentative' | 'cancelled';
  htmlLink: string;
  created: string;
  updated: string;
  iCalUID: string;
  sequence: number;
  start?: EventDateTime;
  end?: EventDateTime;
  recurrence?: string[];
  recurringEventId?: string;
  originalStartTime?: EventDateTime;
  extendedProperties?: { private?: Record<string, string>; shared?: Record<string, string> };
  [field: string]: unknown;
}

export interface StoredEvent {
  resource: GoogleEvent;
  /** Global change counter value of the last write. */
  changeSeq: number;
  /** `sendUpdates` of the last API write (`undefined` when the param was absent or the write came from control). */
  lastSendUpdates?: string;
}

export interface Calendar {
  id: string;
  summary: string;
  description?: string;
  timeZone: string;
  etag: string;
  /** Opaque id of the calendar's events collection as a push resource (`X-Goog-Resource-ID`). */
  resourceId: string;
  events: Map<string, StoredEvent>;
  /** Bumped by `invalidateSyncTokens`: tokens minted under an older epoch answer 410. */
  syncEpoch: number;
}

export interface User {
  userId: string;
  email: string;
  refreshToken: string;
  /** calendarId → role and whether it is the user's primary calendar. */
  calendarList: Map<string, { accessRole: AccessRole; primary: boolean }>;
}

export interface AccessToken {
  email: string;
  expiresAt: number;
}

export class Store {
  readonly users = new Map<string, User>();
  readonly calendars = new Map<string, Calendar>();
  readonly accessTokens = new Map<string, AccessToken>();
  readonly refreshTokens = new Map<string, string>();
  readonly authCodes = new Map<string, { email: string; redirectUri: string; clientId: string }>();
  readonly client = { clientId: 'emulator-client.apps.googleusercontent.com', clientSecret: 'emulator-client-secret' };
  private changeCounter = 0;
  private lastUpdatedMs = 0;
  private random: () => number;

  constructor(private readonly seed: number) {
    this.random = seededRandom(seed);
  }

  clear(): void {
    this.users.clear();
    this.calendars.clear();
    this.accessTokens.clear();
    this.refreshTokens.clear();
    this.authCodes.clear();
    this.changeCounter = 0;
    this.random = seededRandom(this.seed);
  }

  nextChange(): number {
    return ++this.changeCounter;
  }

  get currentChange(): number {
    return this.changeCounter;
  }

  /** Strictly increasing write timestamps, so `updated` orders writes even within one millisecond. */
  nextUpdated(): number {
    this.lastUpdatedMs = Math.max(Date.now(), this.lastUpdatedMs + 1);
    return this.lastUpdatedMs;
  }

  /** Random string over an alphabet (default base32hex, the alphabet of Google event ids). */
  randomId(length: number, alphabet = '0123456789abcdefghijklmnopqrstuv'): string {
    let s = '';
    for (let i = 0; i < length; i++) s += alphabet[Math.floor(this.random() * alphabet.length)];
    return s;
  }

  randomToken(prefix: string): string {
    return prefix + this.randomId(40, 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_');
  }

  createCalendar(input: { id: string; summary: string; timeZone?: string; description?: string }): Calendar {
    const cal: Calendar = {
      id: input.id,
      summary: input.summary,
      ...(input.description ? { description: input.description } : {}),
      timeZone: input.timeZone ?? 'UTC',
      etag: `"${this.nextUpdated() * 1000}"`,
      resourceId: this.randomId(27, 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'),
      events: new Map(),
      syncEpoch: 0,
    };
    this.calendars.set(cal.id, cal);
    return cal;
  }

  issueAccessToken(email: string, ttlSeconds: number): string {
    const token = this.randomToken('ya29.emu-');
    this.accessTokens.set(token, { email, expiresAt: Date.now() + ttlSeconds * 1000 });
    return token;
  }

  userForAccessToken(token: string): User | undefined {
    const t = this.accessTokens.get(token);
    if (!t || t.expiresAt <= Date.now()) return undefined;
    return this.users.get(t.email);
  }
}

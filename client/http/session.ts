/**
 * Who is using the settings page: a signed session cookie naming their connection, a CSRF token bound to
 * it, and the signed one-time `state` that protects the OAuth round trips. Signatures are HMAC-SHA256 with
 * the server's session secret; everything is compared in constant time.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { EmuRequest as Request } from '../../lib/http-server.js';

export const SESSION_COOKIE = 'cs_session';
export const STATE_COOKIE = 'cs_oauth_state';

export class Sessions {
  constructor(
    private readonly secret: Buffer,
    private readonly secureCookies: boolean,
  ) {}

  private sign(value: string): string {
    return createHmac('sha256', this.secret).update(value).digest('base64url');
  }

  private verify(value: string, signature: string): boolean {
    const expected = Buffer.from(this.sign(value));
    const given = Buffer.from(signature);
    return expected.length === given.length && timingSafeEqual(expected, given);
  }

  /** The signed-in connection id, or null. */
  connectionOf(req: Request): string | null {
    const raw = cookies(req)[SESSION_COOKIE];
    if (!raw) return null;
    const dot = raw.lastIndexOf('.');
    if (dot <= 0) return null;
    const id = raw.slice(0, dot);
    return this.verify(`session:${id}`, raw.slice(dot + 1)) ? id : null;
  }

  sessionCookie(connectionId: string): string {
    return this.cookie(SESSION_COOKIE, `${connectionId}.${this.sign(`session:${connectionId}`)}`, 30 * 24 * 3600);
  }

  clearSessionCookie(): string {
    return this.cookie(SESSION_COOKIE, '', 0);
  }

  csrfToken(connectionId: string): string {
    return this.sign(`csrf:${connectionId}`);
  }

  csrfValid(connectionId: string, token: string | undefined): boolean {
    return !!token && this.verify(`csrf:${connectionId}`, token);
  }

  /** A fresh OAuth `state` and the cookie that remembers it for the callback (10 minutes). */
  newOAuthState(provider: string): { state: string; cookie: string } {
    const state = `${provider}.${randomBytes(16).toString('base64url')}`;
    return { state, cookie: this.cookie(STATE_COOKIE, `${state}.${this.sign(`state:${state}`)}`, 600) };
  }

  /** True when the callback's `state` is the one this browser was sent off with (CSRF protection). */
  oauthStateValid(req: Request, state: string | null): boolean {
    const raw = cookies(req)[STATE_COOKIE];
    if (!raw || !state) return false;
    const dot = raw.lastIndexOf('.');
    const remembered = raw.slice(0, dot);
    if (!this.verify(`state:${remembered}`, raw.slice(dot + 1))) return false;
    const a = Buffer.from(remembered);
    const b = Buffer.from(state);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  clearStateCookie(): string {
    return this.cookie(STATE_COOKIE, '', 0);
  }

  private cookie(name: string, value: string, maxAge: number): string {
    return `${name}=${value}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${maxAge}${this.secureCookies ? '; Secure' : ''}`;
  }
}

export function cookies(req: Request): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of String(req.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0) out[part.slice(0, i).trim()] = part.slice(i + 1).trim();
  }
  return out;
}

/**
 * Who is using the settings page, kept server side: the session cookie carries only a random id (signed, so
 * a tampered cookie is refused without a database read); the database row (`web_sessions`, keyed by the id's
 * SHA-256) names the connection, expires, and is revoked by Disconnect. The CSRF token is an HMAC of the
 * session id, so it dies with the session. OAuth `state` is a random nonce stored with the provider it was
 * issued for, consumed (deleted) by the first callback that presents it, and also remembered in a cookie so
 * the callback must come back to the browser that started it.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type pg from 'pg';

export const SESSION_COOKIE = 'cs_session';
export const STATE_COOKIE = 'cs_oauth_state';

/** How long a settings-page session lasts, and an OAuth round trip may take. */
export const SESSION_TTL_MS = 7 * 24 * 3600 * 1000;
export const OAUTH_STATE_TTL_MS = 10 * 60 * 1000;

export type OAuthProvider = 'google' | 'pipedrive';

export interface Session {
  id: string;
  connectionId: string;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest();

export class Sessions {
  constructor(
    private readonly db: pg.Pool,
    private readonly secret: Buffer,
    private readonly secureCookies: boolean,
    private readonly ttlMs = SESSION_TTL_MS,
  ) {}

  private cookieOptions(maxAgeSeconds: number) {
    return {
      path: '/',
      httpOnly: true,
      sameSite: 'lax' as const,
      secure: this.secureCookies,
      maxAge: maxAgeSeconds,
      signed: true,
    };
  }

  private unsigned(req: FastifyRequest, name: string): string | null {
    const raw = req.cookies[name];
    if (!raw) return null;
    const result = req.unsignCookie(raw);
    return result.valid ? result.value : null;
  }

  /** The signed-in session, or null (no cookie, tampered, unknown, expired or revoked). */
  async current(req: FastifyRequest): Promise<Session | null> {
    const id = this.unsigned(req, SESSION_COOKIE);
    if (!id) return null;
    const { rows } = await this.db.query<{ connection_id: string }>(
      'SELECT connection_id FROM web_sessions WHERE id_hash = $1 AND revoked_at IS NULL AND expires_at > now()',
      [sha256(id)],
    );
    return rows[0] ? { id, connectionId: rows[0].connection_id } : null;
  }

  /** Signs the browser in to a connection: a new server-side session and its cookie. */
  async start(reply: FastifyReply, connectionId: string): Promise<void> {
    const id = randomBytes(32).toString('base64url');
    await this.db.query(
      `INSERT INTO web_sessions (id_hash, connection_id, expires_at) VALUES ($1, $2, now() + $3 * interval '1 millisecond')`,
      [sha256(id), connectionId, this.ttlMs],
    );
    // Expired rows are worthless; dropping them here keeps the table at the size of the active sessions.
    await this.db.query(`DELETE FROM web_sessions WHERE expires_at < now() - interval '1 day'`);
    reply.setCookie(SESSION_COOKIE, id, this.cookieOptions(Math.floor(this.ttlMs / 1000)));
  }

  /** Ends every session of a connection (Disconnect): their cookies no longer sign anyone in. */
  async revokeAll(connectionId: string): Promise<void> {
    await this.db.query('UPDATE web_sessions SET revoked_at = now() WHERE connection_id = $1 AND revoked_at IS NULL', [
      connectionId,
    ]);
  }

  clearSessionCookie(reply: FastifyReply): void {
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
  }

  csrfToken(session: Session): string {
    return createHmac('sha256', this.secret).update(`csrf:${session.id}`).digest('base64url');
  }

  csrfValid(session: Session, token: unknown): boolean {
    if (typeof token !== 'string' || token.length === 0) return false;
    const expected = Buffer.from(this.csrfToken(session));
    const given = Buffer.from(token);
    return expected.length === given.length && timingSafeEqual(expected, given);
  }

  /** A fresh one-time OAuth `state` for `provider`, stored server side and remembered in this browser. */
  async newOAuthState(reply: FastifyReply, provider: OAuthProvider): Promise<string> {
    const nonce = randomBytes(24).toString('base64url');
    await this.db.query(
      `INSERT INTO oauth_states (nonce_hash, provider, expires_at) VALUES ($1, $2, now() + $3 * interval '1 millisecond')`,
      [sha256(nonce), provider, OAUTH_STATE_TTL_MS],
    );
    await this.db.query('DELETE FROM oauth_states WHERE expires_at < now()');
    reply.setCookie(STATE_COOKIE, nonce, this.cookieOptions(OAUTH_STATE_TTL_MS / 1000));
    return nonce;
  }

  /**
   * True once for a callback whose `state` is the one this browser was sent off with, for this provider, and
   * not yet used or expired; the nonce is consumed either way it was valid, so a replay finds nothing.
   */
  async consumeOAuthState(req: FastifyRequest, provider: OAuthProvider, state: unknown): Promise<boolean> {
    const remembered = this.unsigned(req, STATE_COOKIE);
    if (typeof state !== 'string' || !remembered) return false;
    const a = Buffer.from(remembered);
    const b = Buffer.from(state);
    if (a.length !== b.length || !timingSafeEqual(a, b)) return false;
    const { rowCount } = await this.db.query(
      'DELETE FROM oauth_states WHERE nonce_hash = $1 AND provider = $2 AND expires_at > now()',
      [sha256(state), provider],
    );
    return rowCount === 1;
  }

  clearStateCookie(reply: FastifyReply): void {
    reply.clearCookie(STATE_COOKIE, { path: '/' });
  }
}

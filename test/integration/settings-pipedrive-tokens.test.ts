/**
 * A Pipedrive OAuth access token that the settings page finds expired is refreshed there, and the refreshed tokens
 * are saved for the connection (encrypted), so the next call — from the page or from the worker — uses them instead
 * of refreshing again. The settings API builds the connection's Pipedrive client through
 * `adapters/connection-apis.ts`, the same way the worker does.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCredentials, saveCredentials } from '../../adapters/store/connections.js';
import { cookieHeader, signInWithGoogle } from '../../testing/google-sign-in.js';
import { registerAccounts, startHarness, type Harness } from '../../testing/sync-harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ web: true });
}, 120_000);
afterAll(async () => {
  await h?.close();
});

const base = () => h.http!.url;

const signIn = (email: string) => signInWithGoogle(base(), email);

async function storedCiphertext(connectionId: string): Promise<string> {
  const { rows } = await h.stack.db.query<{ ciphertext: string }>(
    `SELECT ciphertext FROM connection_credentials WHERE connection_id = $1 AND provider = 'pipedrive'`,
    [connectionId],
  );
  return rows[0]!.ciphertext;
}

describe('the settings page and Pipedrive OAuth tokens', () => {
  it('saves a Pipedrive access token it refreshed, encrypted, and uses it on the next call', async () => {
    const { connectionId, email, pd } = await registerAccounts({
      db: h.stack.db,
      secrets: h.deps.secrets,
      google: h.google,
      pipedrive: h.pipedrive,
      companyId: h.companyId,
    });
    // Our OAuth app in Pipedrive's emulator is this user's client (the emulator gives each user one); the stored
    // access token is one Pipedrive no longer accepts (as after its hour is up), next to a valid refresh token.
    h.deps.pipedrive.clientId = pd.oauth.clientId;
    h.deps.pipedrive.clientSecret = pd.oauth.clientSecret;
    const expired = 'expired-access-token';
    await saveCredentials(h.stack.db, h.deps.secrets, connectionId, 'pipedrive', {
      kind: 'oauth',
      accessToken: expired,
      refreshToken: pd.oauth.refreshToken,
    });
    const jar = await signIn(email);
    const activityTypes = () => fetch(`${base()}/api/me/activity-types`, { headers: { cookie: cookieHeader(jar) } });

    const first = await activityTypes();
    expect(first.status).toBe(200);
    expect(((await first.json()) as { key: string }[]).map((t) => t.key)).toContain('meeting');

    const saved = await loadCredentials(h.stack.db, h.deps.secrets, connectionId, 'pipedrive');
    expect(saved).toMatchObject({ kind: 'oauth', refreshToken: pd.oauth.refreshToken });
    const refreshed = saved?.kind === 'oauth' ? saved.accessToken : '';
    expect(refreshed).not.toBe(expired);
    expect(refreshed.length).toBeGreaterThan(0);
    // Stored encrypted: neither token appears in the row.
    const ciphertext = await storedCiphertext(connectionId);
    expect(ciphertext).not.toContain(refreshed);
    expect(ciphertext).not.toContain(pd.oauth.refreshToken);

    // The next call sends the saved token, which Pipedrive accepts: no second refresh (a refresh issues a new one).
    const second = await activityTypes();
    expect(second.status).toBe(200);
    const after = await loadCredentials(h.stack.db, h.deps.secrets, connectionId, 'pipedrive');
    expect(after?.kind === 'oauth' ? after.accessToken : '').toBe(refreshed);
  });
});

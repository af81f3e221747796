/**
 * Signing in to the web service as a browser does: Google's consent through the emulator, the session kept in a
 * cookie jar that later requests send back.
 */
import { expect } from 'vitest';

export type CookieJar = Record<string, string>;

/** The cookies a response sets (`Set-Cookie`), by name. */
export function setCookies(res: Response): CookieJar {
  const out: CookieJar = {};
  for (const c of res.headers.getSetCookie()) {
    const [pair] = c.split(';');
    const i = pair!.indexOf('=');
    out[pair!.slice(0, i)] = pair!.slice(i + 1);
  }
  return out;
}

/** The `Cookie` header for a jar (cleared cookies left out). */
export const cookieHeader = (jar: CookieJar) =>
  Object.entries(jar)
    .filter(([, v]) => v !== '')
    .map(([k, v]) => `${k}=${v}`)
    .join('; ');

/** Google sign-in through the emulator's consent screen at the web service `base`: the session cookie jar. */
export async function signInWithGoogle(base: string, email: string): Promise<CookieJar> {
  const start = await fetch(`${base}/connect/google`, { redirect: 'manual' });
  const consent = new URL(start.headers.get('location')!);
  consent.searchParams.set('login_hint', email);
  const approved = await fetch(consent, { redirect: 'manual' });
  const jar = setCookies(start);
  const res = await fetch(approved.headers.get('location')!, {
    redirect: 'manual',
    headers: { cookie: cookieHeader(jar) },
  });
  expect(res.headers.get('location')).toBe('/settings');
  return { ...jar, ...setCookies(res) };
}

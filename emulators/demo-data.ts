/**
 * Demo data for the sandbox and `npm run emulators`: one Pipedrive company with a sales user, a few deals,
 * people, organizations and activities, and the same user's Google account with a calendar holding events.
 */
import type { GoogleEmulator } from './google/index.js';
import type { PipedriveEmulator } from './pipedrive/index.js';

export interface DemoAccounts {
  pipedrive: {
    companyId: number;
    userId: number;
    apiToken: string;
    oauth: { clientId: string; clientSecret: string; refreshToken: string; accessToken: string };
  };
  google: {
    email: string;
    clientId: string;
    clientSecret: string;
    refreshToken: string;
    accessToken: string;
    primaryCalendarId: string;
  };
}

export const DEMO_EMAIL = 'demo.seller@example.com';

/** Dates relative to today, so the demo calendar always has something this week. */
function day(offset: number): string {
  const d = new Date();
  d.setUTCDate(d.getUTCDate() + offset);
  return d.toISOString().slice(0, 10);
}

export function seedDemo(google: GoogleEmulator, pipedrive: PipedriveEmulator): DemoAccounts {
  const pd = pipedrive.control;
  const { companyId } = pd.createCompany({ name: 'Acme Sales' });
  const user = pd.createUser({ companyId, name: 'Demo Seller', email: DEMO_EMAIL });
  const userId = user.userId;

  const globex = pd.createOrganization({ userId, name: 'Globex Corporation' }) as { id: number };
  const initech = pd.createOrganization({ userId, name: 'Initech' }) as { id: number };
  const hank = pd.createPerson({
    userId,
    name: 'Hank Scorpio',
    org_id: globex.id,
    emails: [{ value: 'hank@globex.example', primary: true, label: 'work' }],
  }) as { id: number };
  const bill = pd.createPerson({
    userId,
    name: 'Bill Lumbergh',
    org_id: initech.id,
    emails: [{ value: 'bill@initech.example', primary: true, label: 'work' }],
  }) as { id: number };
  const hammock = pd.createDeal({
    userId,
    title: 'Hammock District expansion',
    person_id: hank.id,
    org_id: globex.id,
    value: 120000,
    currency: 'USD',
  }) as { id: number };
  const tps = pd.createDeal({
    userId,
    title: 'TPS report automation',
    person_id: bill.id,
    org_id: initech.id,
    value: 18000,
    currency: 'USD',
  }) as { id: number };

  pd.createActivity({
    userId,
    subject: 'Discovery call',
    type: 'call',
    deal_id: hammock.id,
    person_id: hank.id,
    org_id: globex.id,
    due_date: day(1),
    due_time: '09:00',
    duration: '00:30',
  });
  pd.createActivity({
    userId,
    subject: 'Contract review',
    type: 'meeting',
    deal_id: hammock.id,
    person_id: hank.id,
    org_id: globex.id,
    due_date: day(2),
    due_time: '14:00',
    duration: '01:00',
    location: { value: 'Globex HQ, Cypress Creek' },
  });
  pd.createActivity({
    userId,
    subject: 'Send proposal',
    type: 'task',
    deal_id: tps.id,
    person_id: bill.id,
    org_id: initech.id,
    due_date: day(3),
  });
  pd.createActivity({
    userId,
    subject: 'Quarterly check-in',
    type: 'meeting',
    person_id: bill.id,
    org_id: initech.id,
    due_date: day(7),
    due_time: '10:30',
    duration: '00:45',
    public_description: 'Agenda: renewals, new seats.',
  });

  const g = google.control.createUser({ email: DEMO_EMAIL });
  google.control.upsertEvent(DEMO_EMAIL, g.primaryCalendarId, {
    summary: 'Dentist',
    start: { dateTime: `${day(1)}T07:00:00Z` },
    end: { dateTime: `${day(1)}T08:00:00Z` },
  });
  google.control.upsertEvent(DEMO_EMAIL, g.primaryCalendarId, {
    summary: 'Team offsite',
    start: { date: day(5) },
    end: { date: day(6) },
  });

  return {
    pipedrive: { companyId, userId, apiToken: user.apiToken, oauth: user.oauth },
    google: {
      email: DEMO_EMAIL,
      clientId: g.clientId,
      clientSecret: g.clientSecret,
      refreshToken: g.refreshToken,
      accessToken: g.accessToken,
      primaryCalendarId: g.primaryCalendarId,
    },
  };
}

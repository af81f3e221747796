/**
 * The emulator's whole state: companies, users, their credentials, CRM records and webhooks. Plain maps so
 * `reset()` is one assignment and tests can inspect anything.
 */
import { randomBytes, randomInt } from 'node:crypto';

/** Pipedrive's timestamp format in API v2: UTC, second precision, `YYYY-MM-DDTHH:MM:SSZ`. */
export function pdTime(ms: number = Date.now()): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export const randomToken = (bytes = 20) => randomBytes(bytes).toString('hex');

export interface Company {
  id: number;
  name: string;
  domain: string;
}

export interface User {
  id: number;
  company_id: number;
  name: string;
  email: string;
  is_admin: boolean;
  timezone_name: string;
  api_token: string;
  add_time: string;
}

export interface OAuthClient {
  clientId: string;
  clientSecret: string;
  userId: number;
  /** The scopes the app was given (set in the app's Marketplace settings), comma-separated. */
  scope?: string;
}

export interface OAuthGrant {
  userId: number;
  clientId: string;
  scope: string;
}

export interface Location {
  value?: string | null;
  country?: string | null;
  admin_area_level_1?: string | null;
  admin_area_level_2?: string | null;
  locality?: string | null;
  sublocality?: string | null;
  route?: string | null;
  street_number?: string | null;
  subpremise?: string | null;
  postal_code?: string | null;
  formatted_address?: string | null;
}

export interface Attendee {
  email: string;
  name: string | null;
  status: string | null;
  is_organizer: boolean;
  person_id: number | null;
  user_id: number | null;
}

export interface Activity {
  id: number;
  company_id: number;
  subject: string;
  type: string;
  owner_id: number;
  creator_user_id: number;
  is_deleted: boolean;
  add_time: string;
  update_time: string;
  deal_id: number | null;
  lead_id: string | null;
  person_id: number | null;
  org_id: number | null;
  project_id: number | null;
  due_date: string | null;
  due_time: string | null;
  duration: string | null;
  busy: boolean;
  done: boolean;
  marked_as_done_time: string | null;
  location: Location | null;
  participants: { person_id: number; primary: boolean }[];
  attendees: Attendee[];
  conference_meeting_client: string | null;
  conference_meeting_url: string | null;
  conference_meeting_id: string | null;
  public_description: string | null;
  priority: number | null;
  outcome: number | null;
  note: string | null;
}

export interface Deal {
  id: number;
  company_id: number;
  title: string;
  owner_id: number;
  creator_user_id: number;
  person_id: number | null;
  org_id: number | null;
  value: number;
  currency: string;
  status: string;
  is_deleted: boolean;
  add_time: string;
  update_time: string;
}

export interface ContactItem {
  value: string;
  primary: boolean;
  label: string;
}

export interface Person {
  id: number;
  company_id: number;
  name: string;
  owner_id: number;
  org_id: number | null;
  emails: ContactItem[];
  phones: ContactItem[];
  is_deleted: boolean;
  add_time: string;
  update_time: string;
}

export interface Organization {
  id: number;
  company_id: number;
  name: string;
  owner_id: number;
  address: string | null;
  is_deleted: boolean;
  add_time: string;
  update_time: string;
}

export interface Webhook {
  id: number;
  company_id: number;
  owner_id: number;
  user_id: number;
  name: string;
  subscription_url: string;
  event_action: string;
  event_object: string;
  http_auth_user: string | null;
  http_auth_password: string | null;
  version: string;
  is_active: boolean;
  add_time: string;
  remove_time: string | null;
  last_delivery_time: string | null;
  last_http_status: number | null;
  /** Consecutive deliveries whose first attempt failed (Pipedrive's ban counter). */
  ban_counter: number;
  /** Epoch ms until which deliveries are not sent (and are lost). */
  banned_until: number;
}

export interface ActivityType {
  id: number;
  name: string;
  key_string: string;
  icon_key: string;
  active_flag: boolean;
  order_nr: number;
  is_custom_flag: boolean;
  color: string | null;
  add_time: string;
  update_time: string | null;
}

export type EntityName = 'activity' | 'deal' | 'person' | 'organization';
export type EntityRecord = Activity | Deal | Person | Organization;

export const DEFAULT_ACTIVITY_TYPES: [key: string, name: string, icon: string][] = [
  ['call', 'Call', 'call'],
  ['meeting', 'Meeting', 'meeting'],
  ['task', 'Task', 'task'],
  ['deadline', 'Deadline', 'deadline'],
  ['email', 'Email', 'email'],
  ['lunch', 'Lunch', 'lunch'],
];

export class Store {
  companies = new Map<number, Company>();
  users = new Map<number, User>();
  apiTokens = new Map<string, number>();
  oauthClients = new Map<string, OAuthClient>();
  accessTokens = new Map<string, OAuthGrant & { expiresAt: number }>();
  refreshTokens = new Map<string, OAuthGrant>();
  authCodes = new Map<string, OAuthGrant & { redirectUri: string; expiresAt: number }>();
  activities = new Map<number, Activity>();
  deals = new Map<number, Deal>();
  persons = new Map<number, Person>();
  organizations = new Map<number, Organization>();
  webhooks = new Map<number, Webhook>();
  activityTypes = new Map<number, ActivityType[]>();

  // Company and user ids come from distinct ranges so `banWebhooks(id)` can tell them apart. Like Pipedrive's,
  // they are unique beyond one emulator: each instance starts its companies and users at random places in their ranges, so
  // emulators that share one database (a test run) never hand out the same (company, user) pair, which the
  // sync allows only one connection for.
  private nextCompanyId = 1001 + randomInt(0, 98_000);
  private nextUserId = 100001 + randomInt(0, 100_000_000);
  private nextId: Record<EntityName | 'webhook', number> = {
    activity: 1,
    deal: 1,
    person: 1,
    organization: 1,
    webhook: 1,
  };

  newCompanyId(): number {
    return this.nextCompanyId++;
  }
  newUserId(): number {
    return this.nextUserId++;
  }
  newId(kind: EntityName | 'webhook'): number {
    return this.nextId[kind]++;
  }

  table(entity: EntityName): Map<number, EntityRecord> {
    switch (entity) {
      case 'activity':
        return this.activities as Map<number, EntityRecord>;
      case 'deal':
        return this.deals as Map<number, EntityRecord>;
      case 'person':
        return this.persons as Map<number, EntityRecord>;
      case 'organization':
        return this.organizations as Map<number, EntityRecord>;
    }
  }

  usersOf(companyId: number): User[] {
    return [...this.users.values()].filter((u) => u.company_id === companyId);
  }
}

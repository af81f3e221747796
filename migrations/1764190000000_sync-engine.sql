-- Up Migration

-- Who the connection is on each side, and its settings (validated by sync-rules/settings.ts before saving).
ALTER TABLE connections
  ADD COLUMN pipedrive_user_id    bigint,
  ADD COLUMN pipedrive_company_id bigint,
  -- the company's API origin, e.g. https://acme.pipedrive.com (OAuth returns it as api_domain)
  ADD COLUMN pipedrive_api_domain text,
  ADD COLUMN google_email         text,
  ADD COLUMN settings             jsonb NOT NULL DEFAULT '{}'::jsonb;

-- OAuth tokens / API tokens, encrypted with AES-256-GCM (lib/secret-box.ts); one row per side.
CREATE TABLE connection_credentials (
  connection_id text NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
  -- 'google' | 'pipedrive'
  provider      text NOT NULL,
  ciphertext    text NOT NULL,
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (connection_id, provider)
);

-- The activity ⇄ event link table: one row per synced pair.
CREATE TABLE links (
  connection_id         text NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
  activity_id           bigint NOT NULL,
  calendar_id           text NOT NULL,
  event_id              text NOT NULL,
  -- which side the pair started on: 'pipedrive' | 'google'
  origin                text NOT NULL,
  -- content hash of what we last wrote to either side (echo suppression, sync-rules/content-hash.ts)
  last_written_hash     text NOT NULL,
  -- the SyncedFields both sides agreed on at the last sync: the base of field-wise conflict resolution
  base_fields           jsonb NOT NULL,
  google_etag           text,
  google_updated        timestamptz,
  pipedrive_update_time timestamptz,
  -- bumped when Google refuses to reuse a deleted event id (sync-rules/event-id.ts)
  event_generation      integer NOT NULL DEFAULT 0,
  -- what the title prefix is made of: a rename of one of these re-titles the event
  deal_id               bigint,
  person_id             bigint,
  org_id                bigint,
  created_at            timestamptz NOT NULL DEFAULT now(),
  updated_at            timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (connection_id, activity_id),
  UNIQUE (connection_id, calendar_id, event_id)
);
CREATE INDEX links_deal ON links (connection_id, deal_id) WHERE deal_id IS NOT NULL;
CREATE INDEX links_person ON links (connection_id, person_id) WHERE person_id IS NOT NULL;
CREATE INDEX links_org ON links (connection_id, org_id) WHERE org_id IS NOT NULL;

-- Incremental Google sync: the token of the last completely applied pull, per calendar.
CREATE TABLE google_sync_state (
  connection_id   text NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
  calendar_id     text NOT NULL,
  sync_token      text,
  -- when the baseline or the last successful pull finished; events older than this are baseline
  last_pulled_at  timestamptz,
  PRIMARY KEY (connection_id, calendar_id)
);

-- Exactly-once activity creation from Google events. Pipedrive has no idempotency key: before creating we
-- record an intent; the created activity carries the intent's marker in its note; a retry that finds the
-- intent looks for an activity with that marker before creating another (activities/sync/create-activity.ts).
CREATE TABLE pipedrive_create_intents (
  connection_id text NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
  event_id      text NOT NULL,
  marker        text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (connection_id, event_id)
);

-- Names of deals, persons and organizations, for event titles; refreshed by their webhooks.
CREATE TABLE pipedrive_names (
  connection_id text NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
  -- 'deal' | 'person' | 'organization'
  entity        text NOT NULL,
  entity_id     bigint NOT NULL,
  name          text NOT NULL,
  fetched_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (connection_id, entity, entity_id)
);

-- Down Migration
DROP TABLE pipedrive_names;
DROP TABLE pipedrive_create_intents;
DROP TABLE google_sync_state;
DROP TABLE links;
DROP TABLE connection_credentials;
ALTER TABLE connections
  DROP COLUMN settings, DROP COLUMN google_email, DROP COLUMN pipedrive_api_domain,
  DROP COLUMN pipedrive_company_id, DROP COLUMN pipedrive_user_id;

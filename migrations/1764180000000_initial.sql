-- Up Migration

-- One row per connected user: a Pipedrive user and the Google account whose calendar they sync.
-- Credentials live in their own table so they can be encrypted and rotated without touching the rest.
CREATE TABLE connections (
  id              text PRIMARY KEY,
  display_name    text NOT NULL DEFAULT '',
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now()
);

-- What the sync did, per connection, newest last: shown by the status query, the CLI and the settings page.
CREATE TABLE audit_log (
  id              bigserial PRIMARY KEY,
  connection_id   text NOT NULL,
  at              timestamptz NOT NULL DEFAULT now(),
  -- 'pipedrive-to-google' | 'google-to-pipedrive' | 'system'
  direction       text NOT NULL,
  -- what happened, e.g. 'pipedrive-change-received', 'event-created'
  action          text NOT NULL,
  -- the item it concerns, e.g. 'activity:42'
  subject         text,
  -- 'ok' | 'skipped' | 'failed'
  outcome         text NOT NULL,
  detail          jsonb NOT NULL DEFAULT '{}'::jsonb,
  -- makes an activity retry that already wrote its row a no-op (activities are idempotent)
  idempotency_key text UNIQUE
);
CREATE INDEX audit_log_connection_at ON audit_log (connection_id, id DESC);

-- Down Migration
DROP TABLE audit_log;
DROP TABLE connections;

-- Up Migration

-- One connection per Pipedrive user of a company: a second connection claiming the same (company, user)
-- would receive that user's webhooks and write into their calendar. Creating the index fails on a database
-- that already holds such duplicates (Postgres names the duplicated key); an operator resolves them first
-- (`calendar-sync connections`, then disconnect the newer one).
CREATE UNIQUE INDEX connections_one_per_pipedrive_user
  ON connections (pipedrive_company_id, pipedrive_user_id)
  WHERE pipedrive_company_id IS NOT NULL AND pipedrive_user_id IS NOT NULL;

-- Settings-page sessions, server side: the cookie only carries a random id (its SHA-256 is stored here), so a
-- session expires or is revoked (Disconnect) whatever the browser keeps.
CREATE TABLE web_sessions (
  id_hash       bytea PRIMARY KEY,
  connection_id text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  expires_at    timestamptz NOT NULL,
  revoked_at    timestamptz
);
CREATE INDEX web_sessions_by_connection ON web_sessions (connection_id);
CREATE INDEX web_sessions_expiry ON web_sessions (expires_at);

-- OAuth `state` nonces (SHA-256 of the nonce): one-time (deleted when the callback consumes it), bound to the
-- provider the round trip was started for, and short-lived.
CREATE TABLE oauth_states (
  nonce_hash    bytea PRIMARY KEY,
  provider      text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  expires_at    timestamptz NOT NULL
);
CREATE INDEX oauth_states_expiry ON oauth_states (expires_at);

-- Down Migration
DROP TABLE oauth_states;
DROP TABLE web_sessions;
DROP INDEX connections_one_per_pipedrive_user;

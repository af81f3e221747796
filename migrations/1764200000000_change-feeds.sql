-- Up Migration

-- Every accepted Pipedrive webhook delivery, stored before it is acknowledged; relayed into the user's
-- workflow as soon as Temporal takes it (relayed_at), or later by the relay loop if Temporal was away.
CREATE TABLE webhook_inbox (
  id            bigserial PRIMARY KEY,
  connection_id text NOT NULL,
  -- meta.id of the delivery: Pipedrive retries deliver the same id again
  delivery_id   text NOT NULL,
  received_at   timestamptz NOT NULL DEFAULT now(),
  -- the webhook's meta (action, entity, entity_id, …): all the workflow needs; data/previous are not kept
  meta          jsonb NOT NULL,
  relayed_at    timestamptz,
  attempts      integer NOT NULL DEFAULT 0,
  UNIQUE (connection_id, delivery_id)
);
CREATE INDEX webhook_inbox_pending ON webhook_inbox (received_at) WHERE relayed_at IS NULL;

-- Google push channels (events.watch). A notification is trusted only if its channel id is here, its token
-- matches and the channel is active.
CREATE TABLE watch_channels (
  channel_id    text PRIMARY KEY,
  connection_id text NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
  calendar_id   text NOT NULL,
  resource_id   text,
  -- sha256 of the channel token (the token itself is only ever sent to Google)
  token_hash    text NOT NULL,
  expiration    timestamptz NOT NULL,
  -- 'active' | 'stopped'
  state         text NOT NULL DEFAULT 'active',
  created_at    timestamptz NOT NULL DEFAULT now(),
  stopped_at    timestamptz
);
CREATE INDEX watch_channels_connection ON watch_channels (connection_id, state);

-- The Pipedrive safety net: activities updated since this instant are compared with what we last synced.
CREATE TABLE pipedrive_reconcile_state (
  connection_id text PRIMARY KEY REFERENCES connections (id) ON DELETE CASCADE,
  updated_since timestamptz NOT NULL
);

-- Down Migration
DROP TABLE pipedrive_reconcile_state;
DROP TABLE watch_channels;
DROP TABLE webhook_inbox;

-- Up Migration

-- The token of each Google push channel, chosen once per channel id and kept (encrypted, adapters/store/
-- secret-box.ts) before Google is first asked to create the channel. Every retry of the watch step sends the same
-- token, so the hash in watch_channels always matches what Google echoes back in X-Goog-Channel-Token, whichever
-- attempt Google accepted.
CREATE TABLE watch_channel_tokens (
  channel_id       text PRIMARY KEY,
  connection_id    text NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
  token_ciphertext text NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now()
);

-- Down Migration
DROP TABLE watch_channel_tokens;

-- Up Migration

-- Who is pulling a connection's Google changes right now. Two attempts of the same pull can overlap: a local
-- attempt that ran past its bound keeps running while the workflow starts the regular activity, and a regular
-- attempt that timed out keeps running beside its retry. Both would list the same new event and could each create
-- a Pipedrive activity for it. A pull holds the lease while it runs (renewed every few seconds, so a crashed
-- holder's lease runs out); another pull of the same connection waits for it (activities/sync/pull-lease.ts).
CREATE TABLE google_pull_leases (
  connection_id text PRIMARY KEY REFERENCES connections (id) ON DELETE CASCADE,
  holder        uuid NOT NULL,
  expires_at    timestamptz NOT NULL
);

-- Down Migration
DROP TABLE google_pull_leases;

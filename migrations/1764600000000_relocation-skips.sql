-- Up Migration

-- Linked events a calendar switch could not move into the chosen calendar (Google refuses to move recurring
-- instances and invitations organized by someone else). Remembered per target calendar so the relocation does
-- not try them again on every batch, and reported to the user.
CREATE TABLE relocation_skips (
  connection_id text NOT NULL,
  activity_id bigint NOT NULL,
  calendar_id text NOT NULL,
  reason text NOT NULL,
  at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (connection_id, activity_id, calendar_id)
);

-- Down Migration
DROP TABLE relocation_skips;

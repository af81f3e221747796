-- Up Migration

-- "Upload unsynced activities" (workflows/upload-unsynced.ts): the activities one upload found, with the page data
-- the scan read, so the write batches need no Pipedrive re-read and no activity data passes through workflow
-- history. Every activity of the scanned pages has a row; the counters of the upload's progress are counts of
-- these rows by state, so they stay exact when a batch is retried after a crash.
CREATE TABLE upload_items (
  connection_id text NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
  -- one per upload (chosen by its workflow, carried over continue-as-new)
  upload_id     text NOT NULL,
  activity_id   bigint NOT NULL,
  -- 'pending' | 'done' | 'skipped' (already linked, or synced by the live path meanwhile) | 'excluded' (the
  -- settings keep it out of the calendar) | 'failed'
  state         text NOT NULL,
  reason        text,
  -- the activity as the scan read it (only while pending)
  activity      jsonb,
  attempts      integer NOT NULL DEFAULT 0,
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (connection_id, upload_id, activity_id)
);
CREATE INDEX upload_items_pending ON upload_items (connection_id, upload_id, activity_id) WHERE state = 'pending';
-- the live path takes an activity it synced out of any running upload
CREATE INDEX upload_items_activity ON upload_items (connection_id, activity_id) WHERE state = 'pending';

-- Down Migration
DROP TABLE upload_items;

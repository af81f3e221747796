-- Up Migration

-- Where an unfinished Google pull stands: the page to list next (its nextPageToken) and what the pages before it
-- produced, saved after each page was applied, so the next attempt of the same pull resumes there instead of
-- listing and applying the calendar's changes again from the old sync token. Cleared when the pull's new sync token
-- is saved (activities/sync/google-to-pipedrive.ts).
ALTER TABLE google_sync_state ADD COLUMN pull_position jsonb;

-- Down Migration
ALTER TABLE google_sync_state DROP COLUMN pull_position;

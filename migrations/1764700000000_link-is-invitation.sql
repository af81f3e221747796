-- Up Migration

-- The linked event is an invitation organized by someone else (Google's `organizer.self` is not true when the sync
-- imported it). Google refuses to move such an event to another calendar, so a calendar switch skips it without
-- asking. Links made before this column know nothing: false, and the relocation learns it from Google's 403.
ALTER TABLE links ADD COLUMN invitation boolean NOT NULL DEFAULT false;

-- Down Migration
ALTER TABLE links DROP COLUMN invitation;

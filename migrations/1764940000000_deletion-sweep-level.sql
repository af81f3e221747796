-- Up Migration

-- How far the deletion sweep has backed off (interval = base × 2^level, up to its bound): one doubling per sweep
-- that found nothing, back to 0 after one that found a deletion no webhook removed.
ALTER TABLE pipedrive_reconcile_state ADD COLUMN deletion_sweep_level smallint NOT NULL DEFAULT 0;

-- Down Migration
ALTER TABLE pipedrive_reconcile_state DROP COLUMN deletion_sweep_level;

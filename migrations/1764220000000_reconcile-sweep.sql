-- Up Migration

-- When the Pipedrive safety net last checked every linked activity still exists (an expensive pass: one list
-- request per 100 links), so it runs at its own, longer interval.
ALTER TABLE pipedrive_reconcile_state ADD COLUMN last_sweep_at timestamptz;

-- Down Migration
ALTER TABLE pipedrive_reconcile_state DROP COLUMN last_sweep_at;

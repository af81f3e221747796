-- Up Migration

-- Relayed deliveries are kept only for a retention period (long enough to recognise Pipedrive's retries of
-- them); the pruning job finds the expired ones by this index.
CREATE INDEX webhook_inbox_relayed ON webhook_inbox (relayed_at) WHERE relayed_at IS NOT NULL;

-- Down Migration
DROP INDEX webhook_inbox_relayed;

-- Up Migration

-- Who relays a stored delivery into Temporal: whoever sets claimed_until first (the ingress that stored it, a
-- duplicate's ingress, or any web process's relay loop). A claim is a lease: if its holder dies before it marks
-- the row relayed, the row is claimable again once the lease has run out.
ALTER TABLE webhook_inbox ADD COLUMN claimed_until timestamptz;

-- Down Migration
ALTER TABLE webhook_inbox DROP COLUMN claimed_until;

-- Up Migration

-- The web service's request id of the HTTP delivery a row came from, so the signal relayed from it (now or later,
-- by any process's relay loop) carries the id the delivery's log lines show.
ALTER TABLE webhook_inbox ADD COLUMN request_id text;

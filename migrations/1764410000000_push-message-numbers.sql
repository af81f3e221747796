-- Up Migration

-- The highest X-Goog-Message-Number accepted on each push channel. Google numbers a channel's messages in
-- increasing order, so a number at or below this one is a replay (or an older message whose change a later
-- one already announced) and is acknowledged without a signal.
ALTER TABLE watch_channels ADD COLUMN last_message_number bigint;

-- Down Migration
ALTER TABLE watch_channels DROP COLUMN last_message_number;

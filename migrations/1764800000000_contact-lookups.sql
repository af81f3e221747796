-- Up Migration

-- What person search answered for an attendee's e-mail, per connection: a person (with the organization search
-- named) or, with person_id NULL, nobody. Contact linking reads it before spending a 20-token search; rows expire
-- (hits after a day, misses after a few hours — activities/sync/contact-links.ts) and each connection keeps a
-- bounded number of them. create_started_at is set while a person is being created for an e-mail nobody had, so a
-- retried attempt looks for the person the interrupted one may have created instead of creating a second one.
CREATE TABLE contact_lookups (
  connection_id     text NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
  email             text NOT NULL,
  person_id         bigint,
  person_name       text,
  org_id            bigint,
  org_name          text,
  looked_up_at      timestamptz NOT NULL DEFAULT now(),
  create_started_at timestamptz,
  PRIMARY KEY (connection_id, email)
);
CREATE INDEX contact_lookups_age ON contact_lookups (connection_id, looked_up_at);

-- Down Migration
DROP TABLE contact_lookups;

-- The hub's store in PostgreSQL (issue 15): one table of records by kind and key, each record the
-- same JSON document the lowdb store keeps. `json`, not `jsonb`: the text is kept as written, so
-- a record read back compares equal, key order included, to the one written (the desired-state
-- controller compares documents to decide whether to publish).
CREATE TABLE ep_records (
  kind text NOT NULL,
  key text NOT NULL,
  doc json NOT NULL,
  PRIMARY KEY (kind, key)
);

-- A join looks its device up by hardware id.
CREATE INDEX ep_records_device_hardware ON ep_records ((doc ->> 'hardwareId')) WHERE kind = 'devices';

-- Leases (the controllers' leader lease): the term is the fencing token, raised by every new
-- holder; expires_at is set from the database's clock, never a hub's.
CREATE TABLE ep_leases (
  name text PRIMARY KEY,
  holder text NOT NULL,
  term bigint NOT NULL,
  expires_at timestamptz NOT NULL
);

-- The audit log shared by every hub (issue 15): each write through any hub's API is one row,
-- committed before the answer leaves; `entry` names the hub that answered. `id` orders the rows
-- as they were appended; `who` and `time` are columns for `edgepilot audit --who/--since`.
CREATE TABLE ep_audit (
  id bigserial PRIMARY KEY,
  time timestamptz NOT NULL,
  who text NOT NULL,
  entry json NOT NULL
);
CREATE INDEX ep_audit_who ON ep_audit (who, id);

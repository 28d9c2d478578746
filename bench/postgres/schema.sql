-- The PostgreSQL side of the CreateClient comparison (bench/postgres/pgbench.sh): what Triad's
-- clients service keeps for one CreateClient, as tables: the client with its normalised-name and
-- phone lookup indexes (the duplicate check), its history, the transactional outbox and the
-- request_id replay record (idempotency).
CREATE TABLE clients (
  client_id text PRIMARY KEY,
  name text NOT NULL,
  normalized_name text NOT NULL,
  phone text NOT NULL,
  normalized_phone text NOT NULL,
  owner_id text NOT NULL,
  team_id text NOT NULL DEFAULT '',
  industry text NOT NULL DEFAULT '',
  region text NOT NULL DEFAULT '',
  tier smallint NOT NULL,
  status smallint NOT NULL,
  version bigint NOT NULL,
  etag text NOT NULL,
  create_time timestamptz NOT NULL,
  update_time timestamptz NOT NULL,
  created_by text NOT NULL
);
CREATE INDEX clients_normalized_name ON clients (normalized_name);
CREATE INDEX clients_normalized_phone ON clients (normalized_phone);
CREATE INDEX clients_owner ON clients (owner_id, client_id);

CREATE TABLE client_history (
  id bigserial PRIMARY KEY,
  client_id text NOT NULL,
  field text NOT NULL,
  old_value text NOT NULL,
  new_value text NOT NULL,
  actor_id text NOT NULL,
  reason text NOT NULL,
  at timestamptz NOT NULL
);
CREATE INDEX client_history_client ON client_history (client_id, id);
CREATE INDEX client_history_actor ON client_history (actor_id, id);

CREATE TABLE outbox (
  id bigserial PRIMARY KEY,
  topic text NOT NULL,
  event_key text NOT NULL,
  ce_type text NOT NULL,
  ce_id text NOT NULL,
  payload bytea NOT NULL,
  created timestamptz NOT NULL
);

CREATE TABLE request_replay (
  method text NOT NULL,
  request_id text NOT NULL,
  response bytea NOT NULL,
  created timestamptz NOT NULL,
  PRIMARY KEY (method, request_id)
);

CREATE SEQUENCE client_seq;

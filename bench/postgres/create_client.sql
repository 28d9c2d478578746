-- pgbench script: one CreateClient as Triad's clients service does it, in one transaction:
-- the duplicate lookup by normalised name or phone, the client, four history rows (name, phone,
-- owner, status), one outbox row (ClientCreated) and the request_id replay record.
-- No colon in a literal: pgbench would take it for a variable.
BEGIN;
SELECT nextval('client_seq') AS seq \gset
SELECT client_id FROM clients
  WHERE normalized_name = 'bench client ' || :seq OR normalized_phone = '0900' || :seq;
INSERT INTO clients (client_id, name, normalized_name, phone, normalized_phone, owner_id,
                     industry, region, tier, status, version, etag, create_time, update_time,
                     created_by)
  VALUES ('cl-' || :seq, 'Bench Client ' || :seq, 'bench client ' || :seq, '090-0' || :seq,
          '0900' || :seq, 'u-owner.500', 'design', 'cn-east', 3, 1, 1, '1', now(), now(),
          'u-bench.expert');
INSERT INTO client_history (client_id, field, old_value, new_value, actor_id, reason, at)
  VALUES ('cl-' || :seq, 'name', '', 'Bench Client ' || :seq, 'u-bench.expert', 'created', now()),
         ('cl-' || :seq, 'phone', '', '090-0' || :seq, 'u-bench.expert', 'created', now()),
         ('cl-' || :seq, 'owner_id', '', 'u-owner.500', 'u-bench.expert', 'created', now()),
         ('cl-' || :seq, 'status', '', 'active', 'u-bench.expert', 'created', now());
INSERT INTO outbox (topic, event_key, ce_type, ce_id, payload, created)
  VALUES ('triad.clients.v1.client', 'cl-' || :seq, 'triad.clients.v1.ClientCreated',
          md5(cast(:seq as text)), decode(repeat('ab', 160), 'hex'), now());
INSERT INTO request_replay (method, request_id, response, created)
  VALUES ('CreateClient', md5('req' || cast(:seq as text)), decode(repeat('cd', 200), 'hex'), now());
END;

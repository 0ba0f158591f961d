-- The audit log: who did what, from where. Modules write entries in the
-- transaction of the action they record; the admin module reads them.
CREATE TABLE audit_log (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    actor_id    uuid,
    action      text NOT NULL,
    module      text NOT NULL,
    target_type text,
    target_id   text,
    ip          inet,
    user_agent  text,
    request_id  text,
    success     boolean NOT NULL DEFAULT true,
    meta        jsonb NOT NULL DEFAULT '{}'
);

CREATE INDEX audit_log_at_idx ON audit_log (at DESC, id DESC);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_id, at DESC) WHERE actor_id IS NOT NULL;
CREATE INDEX audit_log_action_idx ON audit_log (action, at DESC);
CREATE INDEX audit_log_ip_idx ON audit_log (ip, at DESC) WHERE ip IS NOT NULL;

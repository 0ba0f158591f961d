-- The transactional outbox: modules insert events and jobs here in their own
-- transaction; the relay moves them to asynq.
CREATE TABLE outbox (
    id            uuid PRIMARY KEY,
    kind          text NOT NULL CHECK (kind IN ('event', 'job')),
    type          text NOT NULL,
    module        text NOT NULL,
    payload       jsonb NOT NULL,
    audience      uuid[] NOT NULL DEFAULT '{}',
    options       jsonb NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL DEFAULT now(),
    available_at  timestamptz NOT NULL DEFAULT now(),
    dispatched_at timestamptz,
    attempts      integer NOT NULL DEFAULT 0,
    last_error    text
);

CREATE INDEX outbox_pending_idx ON outbox (available_at, id) WHERE dispatched_at IS NULL;
CREATE INDEX outbox_dispatched_idx ON outbox (dispatched_at) WHERE dispatched_at IS NOT NULL;

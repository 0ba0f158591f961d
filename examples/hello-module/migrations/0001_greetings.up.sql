-- Greetings made through POST /api/v1/hello.
CREATE TABLE hello_greetings (
    id         uuid PRIMARY KEY,
    name       text NOT NULL,
    message    text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- One row per hello.greeted event the module's subscription received. The
-- event id is the key, so a redelivered event is recorded once.
CREATE TABLE hello_deliveries (
    event_id    uuid PRIMARY KEY,
    greeting_id uuid NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX hello_deliveries_received_at_idx ON hello_deliveries (received_at);

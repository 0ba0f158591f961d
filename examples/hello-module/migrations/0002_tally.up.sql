-- How many greetings each name received, kept by the hello:tally job that
-- every greeting enqueues in its transaction; read by the loop that
-- refreshes GET /api/v1/hello/popular.
CREATE TABLE hello_tally (
    name       text PRIMARY KEY,
    greetings  integer NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX hello_tally_greetings_idx ON hello_tally (greetings DESC, name);

-- hello:tally recounts one name's greetings.
CREATE INDEX hello_greetings_name_idx ON hello_greetings (name);

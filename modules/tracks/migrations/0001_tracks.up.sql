-- array_to_string is only STABLE; joining text never varies, so this
-- wrapper may be IMMUTABLE and feed the generated search column.
CREATE FUNCTION tracks_join_tags(tags text[]) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT array_to_string(tags, ' ') $$;

CREATE TABLE tracks (
    id            uuid PRIMARY KEY,
    owner_id      uuid NOT NULL,
    title         text NOT NULL,
    description   text NOT NULL DEFAULT '',
    genre         text NOT NULL DEFAULT '',
    tags          text[] NOT NULL DEFAULT '{}',
    visibility    text NOT NULL DEFAULT 'public' CHECK (visibility IN ('public', 'private', 'unlisted')),
    status        text NOT NULL DEFAULT 'processing' CHECK (status IN ('processing', 'ready', 'failed')),
    error         text,
    format        text NOT NULL,
    content_type  text NOT NULL,
    size_bytes    bigint NOT NULL,
    storage_key   text NOT NULL,
    scan_status   text NOT NULL DEFAULT 'unscanned' CHECK (scan_status IN ('clean', 'unscanned')),
    duration_ms   bigint,
    sample_rate   integer,
    channels      integer,
    bitrate_kbps  integer,
    peaks         real[],
    plays         bigint NOT NULL DEFAULT 0,
    likes         bigint NOT NULL DEFAULT 0,
    comments      bigint NOT NULL DEFAULT 0,
    downloads     bigint NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    search        tsvector GENERATED ALWAYS AS (
                      setweight(to_tsvector('simple', coalesce(title, '')), 'A') ||
                      setweight(to_tsvector('simple', coalesce(genre, '') || ' ' || tracks_join_tags(tags)), 'B') ||
                      setweight(to_tsvector('simple', coalesce(description, '')), 'C')
                  ) STORED
);

-- Listing: public tracks, newest or most played first, keyset on the sort key.
CREATE INDEX tracks_public_new_idx ON tracks (created_at DESC, id DESC) WHERE visibility = 'public';
CREATE INDEX tracks_public_popular_idx ON tracks (plays DESC, created_at DESC, id DESC) WHERE visibility = 'public';
CREATE INDEX tracks_owner_idx ON tracks (owner_id, created_at DESC, id DESC);
CREATE INDEX tracks_genre_idx ON tracks (lower(genre), created_at DESC, id DESC) WHERE visibility = 'public';
CREATE INDEX tracks_search_idx ON tracks USING gin (search);

-- Every metadata edit, with who made it.
CREATE TABLE track_history (
    id         bigserial PRIMARY KEY,
    track_id   uuid NOT NULL REFERENCES tracks (id) ON DELETE CASCADE,
    actor_id   uuid NOT NULL,
    changes    jsonb NOT NULL,
    at         timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX track_history_track_idx ON track_history (track_id, id DESC);

-- Share links: the token is stored hashed.
CREATE TABLE track_shares (
    id          uuid PRIMARY KEY,
    track_id    uuid NOT NULL REFERENCES tracks (id) ON DELETE CASCADE,
    token_hash  bytea NOT NULL UNIQUE,
    created_by  uuid NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz,
    revoked_at  timestamptz
);

-- A play counts once per listener per track per window.
CREATE TABLE track_plays (
    track_id     uuid NOT NULL REFERENCES tracks (id) ON DELETE CASCADE,
    listener     text NOT NULL,
    window_start timestamptz NOT NULL,
    PRIMARY KEY (track_id, listener, window_start)
);

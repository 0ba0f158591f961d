-- IF NOT EXISTS: databases made before playlists left the tracks module
-- already hold these tables, with their data (tracks' migration 3 hands
-- them over); this migration adopts them as they are.
CREATE TABLE IF NOT EXISTS playlists (
    id          uuid PRIMARY KEY,
    owner_id    uuid NOT NULL,
    title       text NOT NULL,
    description text NOT NULL DEFAULT '',
    visibility  text NOT NULL DEFAULT 'public' CHECK (visibility IN ('public', 'private', 'unlisted')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS playlists_public_idx ON playlists (created_at DESC, id DESC) WHERE visibility = 'public';
CREATE INDEX IF NOT EXISTS playlists_owner_idx ON playlists (owner_id, created_at DESC);

-- Ordered tracks: positions are dense (0..n-1) and unique within a
-- playlist. track_id names a track of the tracks module, which this module
-- does not reference: a deleted track's places are removed when its
-- track.deleted event arrives (and by the hourly sweep, for the rare add
-- that raced the deletion).
CREATE TABLE IF NOT EXISTS playlist_tracks (
    playlist_id uuid NOT NULL REFERENCES playlists (id) ON DELETE CASCADE,
    track_id    uuid NOT NULL,
    position    integer NOT NULL,
    added_by    uuid NOT NULL,
    added_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (playlist_id, track_id),
    UNIQUE (playlist_id, position) DEFERRABLE INITIALLY DEFERRED
);

-- Finding the playlists that hold a deleted track.
CREATE INDEX IF NOT EXISTS playlist_tracks_track_idx ON playlist_tracks (track_id);

CREATE TABLE IF NOT EXISTS playlist_collaborators (
    playlist_id uuid NOT NULL REFERENCES playlists (id) ON DELETE CASCADE,
    user_id     uuid NOT NULL,
    added_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (playlist_id, user_id)
);

-- The public profile of accounts, as tracks shows them next to their tracks
-- (a track's "owner"). Tracks never reads auth's tables: this copy is kept
-- from auth's events (user.registered, user.updated) and filled from the
-- authn.Profiles interface auth exports for accounts the events did not
-- bring. updated_at is the version of the profile (the events' "at"): an
-- older one never overwrites a newer one.
CREATE TABLE track_owners (
    user_id      uuid PRIMARY KEY,
    username     text NOT NULL,
    display_name text NOT NULL DEFAULT '',
    avatar_url   text NOT NULL DEFAULT '',
    updated_at   timestamptz NOT NULL
);

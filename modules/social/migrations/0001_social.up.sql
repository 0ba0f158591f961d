-- The social module's tables. Tracks and users are other modules': they
-- are named by id, without foreign keys (a module never reaches into
-- another's tables); the module cleans up after a deleted track from
-- tracks' track.deleted event and its periodic reconciliation.

-- A like is one row per user and track: a second like changes nothing.
CREATE TABLE social_likes (
    track_id   uuid NOT NULL,
    user_id    uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (track_id, user_id)
);

-- GET /tracks/:id/likes: newest first, keyset.
CREATE INDEX social_likes_track_idx ON social_likes (track_id, created_at DESC, user_id DESC);

CREATE TABLE social_follows (
    follower_id uuid NOT NULL,
    followed_id uuid NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (follower_id, followed_id),
    CHECK (follower_id <> followed_id)
);

-- GET /users/:id/followers and /following: newest first, keyset. The
-- second also serves the feed's walk over whom a user follows.
CREATE INDEX social_follows_followers_idx ON social_follows (followed_id, created_at DESC, follower_id DESC);
CREATE INDEX social_follows_following_idx ON social_follows (follower_id, created_at DESC, followed_id DESC);

-- Comments are plain text, stored as written (HTML included) and only ever
-- answered as JSON strings. track_owner_id never changes: it decides who
-- may delete the comment besides its author and admins.
CREATE TABLE social_comments (
    id             uuid PRIMARY KEY,
    track_id       uuid NOT NULL,
    track_owner_id uuid NOT NULL,
    user_id        uuid NOT NULL,
    body           text NOT NULL,
    at_ms          bigint CHECK (at_ms >= 0),
    created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX social_comments_track_idx ON social_comments (track_id, created_at DESC, id DESC);

-- The true counts, changed in the transaction of each like, unlike,
-- comment and deletion: the row's lock orders concurrent changes of one
-- track, and version numbers them. Events carry both, so that the tracks
-- module's copy keeps the totals of the highest version.
CREATE TABLE social_track_counts (
    track_id uuid PRIMARY KEY,
    likes    bigint NOT NULL DEFAULT 0,
    comments bigint NOT NULL DEFAULT 0,
    version  bigint NOT NULL DEFAULT 0
);

-- The same for follows, per user, for the auth module's copy.
CREATE TABLE social_user_counts (
    user_id   uuid PRIMARY KEY,
    followers bigint NOT NULL DEFAULT 0,
    following bigint NOT NULL DEFAULT 0,
    version   bigint NOT NULL DEFAULT 0
);

-- What the feed needs of every track, kept from tracks' events (created,
-- processed, updated, deleted) and walked from tracksapi.Index to fill
-- what they did not bring. version is the track's updated_at: an event
-- older than the row changes nothing. A deleted track stays as a
-- tombstone, so that a late event cannot bring it back (ids are never
-- reused).
CREATE TABLE social_feed_tracks (
    track_id   uuid PRIMARY KEY,
    owner_id   uuid NOT NULL,
    visibility text NOT NULL,
    created_at timestamptz NOT NULL,
    version    timestamptz NOT NULL,
    deleted    boolean NOT NULL DEFAULT false
);

-- GET /feed: for each followed owner, their newest public tracks; the
-- query merges those of every followed owner (see feed.go).
CREATE INDEX social_feed_tracks_owner_idx ON social_feed_tracks (owner_id, created_at DESC, track_id DESC)
    WHERE visibility = 'public' AND NOT deleted;

-- Notifications are made from events by the module's own subscriptions;
-- a notification's id is its event's, so a redelivery adds nothing.
CREATE TABLE social_notifications (
    id         uuid PRIMARY KEY,
    user_id    uuid NOT NULL,
    type       text NOT NULL CHECK (type IN ('track.liked', 'comment.created', 'user.followed')),
    actor_id   uuid NOT NULL,
    track_id   uuid,
    comment_id uuid,
    read_at    timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX social_notifications_user_idx ON social_notifications (user_id, created_at DESC, id DESC);
CREATE INDEX social_notifications_unread_idx ON social_notifications (user_id) WHERE read_at IS NULL;
CREATE INDEX social_notifications_track_idx ON social_notifications (track_id) WHERE track_id IS NOT NULL;
CREATE INDEX social_notifications_comment_idx ON social_notifications (comment_id) WHERE comment_id IS NOT NULL;
-- Liking a track (following someone) again after taking it back does not
-- notify again.
CREATE UNIQUE INDEX social_notifications_once_idx ON social_notifications (user_id, type, actor_id, coalesce(track_id, user_id))
    WHERE type IN ('track.liked', 'user.followed');

CREATE TABLE users (
    id                uuid PRIMARY KEY,
    username          text NOT NULL,
    email             text NOT NULL,
    password_hash     text NOT NULL,
    role              text NOT NULL DEFAULT 'user'
                      CHECK (role IN ('user', 'creator', 'artist', 'producer', 'label', 'premium', 'admin')),
    email_verified_at timestamptz,
    banned_at         timestamptz,
    ban_reason        text,
    token_version     integer NOT NULL DEFAULT 1,
    display_name      text NOT NULL DEFAULT '',
    bio               text NOT NULL DEFAULT '',
    avatar_url        text NOT NULL DEFAULT '',
    location          text NOT NULL DEFAULT '',
    links             jsonb NOT NULL DEFAULT '[]',
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);

-- Emails are stored lower-cased; usernames keep their case but are unique
-- regardless of it.
CREATE UNIQUE INDEX users_email_key ON users (email);
CREATE UNIQUE INDEX users_username_key ON users (lower(username));

-- A session is one login on one device: its refresh tokens form a family,
-- rotated on every refresh.
CREATE TABLE auth_sessions (
    id             uuid PRIMARY KEY,
    user_id        uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    device         text NOT NULL DEFAULT '',
    ip             inet,
    user_agent     text NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL DEFAULT now(),
    last_used_at   timestamptz NOT NULL DEFAULT now(),
    expires_at     timestamptz NOT NULL,
    revoked_at     timestamptz,
    revoked_reason text
);

CREATE INDEX auth_sessions_user_idx ON auth_sessions (user_id) WHERE revoked_at IS NULL;

-- Refresh tokens are stored as SHA-256 hashes; spent_at marks a rotated one,
-- whose reuse revokes its session.
CREATE TABLE auth_refresh_tokens (
    token_hash bytea PRIMARY KEY,
    session_id uuid NOT NULL REFERENCES auth_sessions (id) ON DELETE CASCADE,
    issued_at  timestamptz NOT NULL DEFAULT now(),
    spent_at   timestamptz
);

CREATE INDEX auth_refresh_tokens_session_idx ON auth_refresh_tokens (session_id);

-- Single-use tokens mailed for verification and password reset, stored hashed.
CREATE TABLE auth_email_tokens (
    token_hash bytea PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose    text NOT NULL CHECK (purpose IN ('verify_email', 'reset_password')),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);

CREATE INDEX auth_email_tokens_user_idx ON auth_email_tokens (user_id, purpose);

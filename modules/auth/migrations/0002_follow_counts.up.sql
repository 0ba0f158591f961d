-- Followers and following counts shown on public profiles. The social
-- module owns follows; auth keeps these totals from its events
-- (user.followed, user.unfollowed, social.user_counts_reconciled), which
-- carry the new totals and a version that grows with every change of the
-- user's counts: the highest version wins, whatever the delivery order. No
-- row: no follows yet (or no social module), both counts 0.
CREATE TABLE auth_follow_counts (
    user_id         uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    followers_count bigint NOT NULL DEFAULT 0,
    following_count bigint NOT NULL DEFAULT 0,
    counts_version  bigint NOT NULL DEFAULT 0
);

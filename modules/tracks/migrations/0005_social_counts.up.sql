-- The like and comment counts (likes, comments) are kept from the social
-- module's events, which carry the new totals and a version that grows
-- with every change of a track's counts: the copy keeps the totals of the
-- highest version it has seen, so redeliveries and events out of order
-- change nothing.
ALTER TABLE tracks ADD COLUMN counts_version bigint NOT NULL DEFAULT 0;

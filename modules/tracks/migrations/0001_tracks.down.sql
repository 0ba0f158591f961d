DROP TABLE track_plays;
DROP TABLE track_shares;
DROP TABLE track_history;
DROP TABLE tracks;
DROP FUNCTION tracks_join_tags(text[]);

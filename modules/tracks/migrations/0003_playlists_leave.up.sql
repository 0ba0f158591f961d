-- Playlists became a module of their own (modules/playlists), which never
-- reads tracks' tables. Databases made before that hold the playlist tables
-- created by this module's first migration; their link to tracks is dropped
-- here and the playlists module adopts the tables with their data (its own
-- first migration creates them only where they are missing). Fresh
-- databases have no playlist tables unless the playlists module runs.
ALTER TABLE IF EXISTS playlist_tracks DROP CONSTRAINT IF EXISTS playlist_tracks_track_id_fkey;

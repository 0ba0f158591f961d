-- Nothing to undo: the playlist tables belong to the playlists module now,
-- and their rows may name tracks deleted since, which the old constraint
-- would refuse.
SELECT 1;

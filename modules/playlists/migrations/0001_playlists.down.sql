DROP TABLE playlist_collaborators;
DROP TABLE playlist_tracks;
DROP TABLE playlists;

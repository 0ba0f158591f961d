DROP TABLE track_owners;

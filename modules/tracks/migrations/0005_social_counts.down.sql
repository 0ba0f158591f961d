ALTER TABLE tracks DROP COLUMN counts_version;

-- Files now live in the platform's store under the module's own folder
-- ("tracks/"), which the store adds itself: keys become relative to it.
-- The objects do not move.
UPDATE tracks SET storage_key = substr(storage_key, 8) WHERE storage_key LIKE 'tracks/%';

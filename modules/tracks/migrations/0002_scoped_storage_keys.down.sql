UPDATE tracks SET storage_key = 'tracks/' || storage_key WHERE storage_key NOT LIKE 'tracks/%';

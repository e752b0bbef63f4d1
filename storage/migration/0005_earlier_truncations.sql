-- The truncations of a file before its last one (prev_offset), newest
-- first: each an offset and a fingerprint (see storage.encodeTruncations).
-- A file truncated again before the copy of an earlier truncation is read
-- (the daemon stopped meanwhile) still has that copy continue from where
-- the file then stood.
ALTER TABLE checkpoints ADD COLUMN earlier BLOB NOT NULL DEFAULT x'';

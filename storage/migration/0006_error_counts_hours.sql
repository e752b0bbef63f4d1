-- Error counts are written in time order, and an index of them in group
-- order took, for every row written, an insert at a place of its own: on
-- traffic of thousands of groups, most of a commit's work. Only hour rows
-- (each hour's first minute, and every hour once rolled up) are indexed
-- by group now: they are what long windows read. Minute rows are read in
-- time order.
--
-- A group's first line ever is kept with the group, where the index no
-- longer finds the group's first bucket: the earliest line of its first
-- hour of buckets, as storage.DB.FirstSeen read it; 0 if it has none.
ALTER TABLE error_groups ADD COLUMN first_seen INTEGER NOT NULL DEFAULT 0;
UPDATE error_groups SET first_seen = COALESCE((
	SELECT MIN(c.first_seen) FROM error_counts c
	WHERE c.group_id = error_groups.id
	  AND c.bucket < (SELECT MIN(bucket) FROM error_counts WHERE group_id = error_groups.id) + 3600000), 0);
DROP INDEX IF EXISTS error_counts_by_group;
CREATE INDEX error_counts_hours ON error_counts (group_id, bucket, count, first_seen, last_seen)
	WHERE bucket % 3600000 = 0;

-- Lines that are not requests (or too old to keep), by reason: like
-- malformed_counts, per bucket, rolled up and pruned with it.
CREATE TABLE skipped_counts (
	bucket INTEGER NOT NULL,
	reason TEXT    NOT NULL,
	count  INTEGER NOT NULL,
	PRIMARY KEY (bucket, reason)
) WITHOUT ROWID;

-- Lifetime totals, never pruned: what the daemon's counters resume from, so
-- they never go down across a restart after retention pruned a day. Keyed
-- by the capped labels, one row per series:
--   metric 'requests' (vendor), 'errors' (vendor, code, category, retry),
--   'malformed' (reason), 'skipped' (reason); unused labels are ''.
-- known: the code is in its vendor's catalog (errors only), so that the
-- code cap, which bounds only unknown codes, is rebuilt from this table.
CREATE TABLE lifetime_counts (
	metric   TEXT    NOT NULL,
	vendor   TEXT    NOT NULL,
	code     TEXT    NOT NULL,
	category TEXT    NOT NULL,
	retry    TEXT    NOT NULL,
	reason   TEXT    NOT NULL,
	known    INTEGER NOT NULL,
	count    INTEGER NOT NULL,
	PRIMARY KEY (metric, vendor, code, category, retry, reason)
) WITHOUT ROWID;

-- A database from before this table starts from what its buckets hold.
INSERT INTO lifetime_counts (metric, vendor, code, category, retry, reason, known, count)
SELECT 'requests', vendor, '', '', '', '', 0, SUM(requests) FROM request_counts GROUP BY vendor;

INSERT INTO lifetime_counts (metric, vendor, code, category, retry, reason, known, count)
SELECT 'errors', g.vendor, g.code, g.category, g.retry, '', MAX(g.known), SUM(c.count)
FROM error_counts c JOIN error_groups g ON g.id = c.group_id
GROUP BY g.vendor, g.code, g.category, g.retry;

INSERT INTO lifetime_counts (metric, vendor, code, category, retry, reason, known, count)
SELECT 'malformed', '', '', '', '', reason, 0, SUM(count) FROM malformed_counts GROUP BY reason;

-- Aggregates per time bucket (unix ms, UTC): minute buckets, rolled up into
-- hour buckets once older than the rollup age.
-- One row per distinct error group; counts refer to it by id, so that
-- reports group and sort integers, not six text columns.
CREATE TABLE error_groups (
	id          INTEGER PRIMARY KEY,
	vendor      TEXT    NOT NULL,
	code        TEXT    NOT NULL,
	http_status INTEGER NOT NULL,
	endpoint    TEXT    NOT NULL,
	category    TEXT    NOT NULL,
	retry       TEXT    NOT NULL,
	range_name  TEXT    NOT NULL,
	known       INTEGER NOT NULL,
	UNIQUE (vendor, code, http_status, endpoint, category, retry)
);

CREATE TABLE error_counts (
	bucket     INTEGER NOT NULL,
	group_id   INTEGER NOT NULL REFERENCES error_groups (id),
	count      INTEGER NOT NULL,
	first_seen INTEGER NOT NULL,
	last_seen  INTEGER NOT NULL,
	PRIMARY KEY (bucket, group_id)
) WITHOUT ROWID;

-- Covering: a report over a long window groups by group_id in index order
-- instead of sorting every row.
CREATE INDEX error_counts_by_group ON error_counts (group_id, bucket, count, first_seen, last_seen);

CREATE TABLE request_counts (
	bucket    INTEGER NOT NULL,
	vendor    TEXT    NOT NULL,
	requests  INTEGER NOT NULL,
	errors    INTEGER NOT NULL,
	retryable INTEGER NOT NULL,
	PRIMARY KEY (bucket, vendor)
) WITHOUT ROWID;

CREATE TABLE malformed_counts (
	bucket INTEGER NOT NULL,
	reason TEXT    NOT NULL,
	count  INTEGER NOT NULL,
	PRIMARY KEY (bucket, reason)
) WITHOUT ROWID;

-- A few redacted messages per (vendor, code).
CREATE TABLE samples (
	vendor    TEXT    NOT NULL,
	code      TEXT    NOT NULL,
	message   TEXT    NOT NULL,
	count     INTEGER NOT NULL,
	last_seen INTEGER NOT NULL,
	PRIMARY KEY (vendor, code, message)
) WITHOUT ROWID;

-- Where reading stopped in each input file, known by device and inode plus
-- the file's first bytes. Written in the same transaction as the counts.
CREATE TABLE checkpoints (
	dev         INTEGER NOT NULL,
	ino         INTEGER NOT NULL,
	path        TEXT    NOT NULL,
	offset      INTEGER NOT NULL,
	fingerprint BLOB    NOT NULL,
	-- where the file stood before its last truncation (copytruncate)
	prev_offset      INTEGER NOT NULL DEFAULT 0,
	prev_fingerprint BLOB    NOT NULL DEFAULT x'',
	updated_at  INTEGER NOT NULL,
	PRIMARY KEY (dev, ino)
) WITHOUT ROWID;

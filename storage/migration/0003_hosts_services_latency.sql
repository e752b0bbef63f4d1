-- The database's own facts, such as the name of its host in fleet reports.
CREATE TABLE meta (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
) WITHOUT ROWID;

-- Request counts gain the calling service ('' where no service is known).
CREATE TABLE request_counts_new (
	bucket    INTEGER NOT NULL,
	vendor    TEXT    NOT NULL,
	service   TEXT    NOT NULL,
	requests  INTEGER NOT NULL,
	errors    INTEGER NOT NULL,
	retryable INTEGER NOT NULL,
	PRIMARY KEY (bucket, vendor, service)
) WITHOUT ROWID;
INSERT INTO request_counts_new (bucket, vendor, service, requests, errors, retryable)
SELECT bucket, vendor, '', requests, errors, retryable FROM request_counts;
DROP TABLE request_counts;
ALTER TABLE request_counts_new RENAME TO request_counts;

-- The same counts per hour, written with the minutes from the start (not
-- by the rollup): a long window reads its whole hours here and only its
-- ragged ends from request_counts.
CREATE TABLE request_hours (
	bucket    INTEGER NOT NULL,
	vendor    TEXT    NOT NULL,
	service   TEXT    NOT NULL,
	requests  INTEGER NOT NULL,
	errors    INTEGER NOT NULL,
	retryable INTEGER NOT NULL,
	PRIMARY KEY (bucket, vendor, service)
) WITHOUT ROWID;
INSERT INTO request_hours (bucket, vendor, service, requests, errors, retryable)
SELECT bucket - bucket % 3600000 AS hour, vendor, service, SUM(requests), SUM(errors), SUM(retryable)
FROM request_counts GROUP BY hour, vendor, service;

-- Error groups gain the calling service too: error_counts keeps referring
-- to groups by integer id. Both tables are rebuilt (a UNIQUE constraint
-- cannot be altered); the ids are kept.
CREATE TABLE error_groups_new (
	id          INTEGER PRIMARY KEY,
	vendor      TEXT    NOT NULL,
	code        TEXT    NOT NULL,
	http_status INTEGER NOT NULL,
	endpoint    TEXT    NOT NULL,
	category    TEXT    NOT NULL,
	retry       TEXT    NOT NULL,
	range_name  TEXT    NOT NULL,
	known       INTEGER NOT NULL,
	service     TEXT    NOT NULL,
	UNIQUE (vendor, code, http_status, endpoint, category, retry, service)
);
INSERT INTO error_groups_new (id, vendor, code, http_status, endpoint, category, retry, range_name, known, service)
SELECT id, vendor, code, http_status, endpoint, category, retry, range_name, known, '' FROM error_groups;

CREATE TABLE error_counts_new (
	bucket     INTEGER NOT NULL,
	group_id   INTEGER NOT NULL REFERENCES error_groups_new (id),
	count      INTEGER NOT NULL,
	first_seen INTEGER NOT NULL,
	last_seen  INTEGER NOT NULL,
	PRIMARY KEY (bucket, group_id)
) WITHOUT ROWID;
INSERT INTO error_counts_new (bucket, group_id, count, first_seen, last_seen)
SELECT bucket, group_id, count, first_seen, last_seen FROM error_counts;
DROP TABLE error_counts;
DROP TABLE error_groups;
ALTER TABLE error_groups_new RENAME TO error_groups;
ALTER TABLE error_counts_new RENAME TO error_counts;
CREATE INDEX error_counts_by_group ON error_counts (group_id, bucket, count, first_seen, last_seen);

-- Requests, errors and latency per (vendor, endpoint). hist is a latency
-- histogram (storage/histogram.go: sparse (bin, uvarint count) pairs).
-- Minute rows are kept until the rollup age; hour rows are written with
-- them from the start, so that a long window reads hours, not minutes.
CREATE TABLE endpoint_minutes (
	bucket   INTEGER NOT NULL,
	vendor   TEXT    NOT NULL,
	endpoint TEXT    NOT NULL,
	requests INTEGER NOT NULL,
	errors   INTEGER NOT NULL,
	hist     BLOB    NOT NULL,
	PRIMARY KEY (bucket, vendor, endpoint)
) WITHOUT ROWID;

CREATE TABLE endpoint_hours (
	bucket   INTEGER NOT NULL,
	vendor   TEXT    NOT NULL,
	endpoint TEXT    NOT NULL,
	requests INTEGER NOT NULL,
	errors   INTEGER NOT NULL,
	hist     BLOB    NOT NULL,
	PRIMARY KEY (bucket, vendor, endpoint)
) WITHOUT ROWID;

-- A sample request or trace id per sample message: the one of the latest
-- line that had one (trace_at, unix ms; ties by the greater id).
ALTER TABLE samples ADD COLUMN trace_id TEXT NOT NULL DEFAULT '';
ALTER TABLE samples ADD COLUMN trace_at INTEGER NOT NULL DEFAULT 0;

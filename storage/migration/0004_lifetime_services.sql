-- Lifetime totals gain the calling service, so that /metrics can show it
-- as a label (metrics_service_label) with counters that resume from the
-- totals per service and never go down across a restart. Rows of
-- 'requests' and 'errors' are kept per service ('' where none is known);
-- a vendor's total is their sum. The totals counted before this migration
-- knew no service: they stay under ''. The primary key changes, so the
-- table is rebuilt.
CREATE TABLE lifetime_counts_new (
	metric   TEXT    NOT NULL,
	vendor   TEXT    NOT NULL,
	code     TEXT    NOT NULL,
	category TEXT    NOT NULL,
	retry    TEXT    NOT NULL,
	reason   TEXT    NOT NULL,
	service  TEXT    NOT NULL,
	known    INTEGER NOT NULL,
	count    INTEGER NOT NULL,
	PRIMARY KEY (metric, vendor, code, category, retry, reason, service)
) WITHOUT ROWID;
INSERT INTO lifetime_counts_new (metric, vendor, code, category, retry, reason, service, known, count)
SELECT metric, vendor, code, category, retry, reason, '', known, count FROM lifetime_counts;
DROP TABLE lifetime_counts;
ALTER TABLE lifetime_counts_new RENAME TO lifetime_counts;

-- 0004: find the newest entries of a past time window without reading all of it.
--
-- `late` = 1 when an entry's effective time is earlier than that of an entry of
-- the same tenant written before it (a deadline entry swept after other
-- entries); the others are in effective-time order, so the newest of them in a
-- window is found with one index probe, and only late ones need a range scan.
-- Derived from hashed columns (`at`, seq order), not part of the hash: like an
-- index. Rows written without it (not by the engine) count as late, which is
-- always correct, only slower.
ALTER TABLE audit_log ADD COLUMN late INTEGER NOT NULL DEFAULT 1 CHECK (late IN (0, 1));

DROP TRIGGER audit_log_no_update;
UPDATE audit_log SET late = x.late
  FROM (SELECT seq,
               COALESCE(at < MAX(at) OVER (PARTITION BY tenant ORDER BY seq
                                           ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS late
          FROM audit_log) AS x
 WHERE x.seq = audit_log.seq;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE refused');
END;

CREATE INDEX audit_in_order_by_time ON audit_log (tenant, at) WHERE late = 0;
CREATE INDEX audit_late_by_time ON audit_log (tenant, at) WHERE late = 1;

-- 0006: `audit verify` replays every request's lifecycle entries (all entries
-- of a request but access_used / access_denied) against the stored request,
-- its decisions and receipts, one request at a time. This partial index holds
-- exactly those entries, ordered by request and with every column the replay
-- reads, so that pass reads a few entries per request instead of the whole log.
CREATE INDEX IF NOT EXISTS audit_lifecycle ON audit_log
    (request_id, seq, tenant, at, recorded_at, actor_kind, actor, operation, details, hash)
    WHERE request_id IS NOT NULL AND operation NOT IN ('access_used', 'access_denied');

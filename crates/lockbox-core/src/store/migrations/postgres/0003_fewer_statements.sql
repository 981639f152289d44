-- Two steps of a write transaction, each a lock and then a read that must
-- see everything committed before the lock was granted, as one statement
-- each (see pg.rs and audit_log.rs): a statement's own snapshot is taken
-- before it runs, so a read in the same statement as the lock could miss
-- the commit of the holder it waited for; a statement inside a VOLATILE
-- PL/pgSQL function takes a fresh snapshot (READ COMMITTED, as every write
-- runs), after the lock. One statement instead of two saves the server a
-- Bind/Execute/Sync, its answer and a wake-up of the client.

-- A write to one tenant: the store lock shared and the tenant's lock, then
-- the tenant's earliest deadline at or before `due_by` (NULL: none).
CREATE FUNCTION lockbox_tenant_write(store_lock BIGINT, tenant_locks INT, p_tenant TEXT, due_by BIGINT)
RETURNS BIGINT LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    earliest BIGINT;
BEGIN
    PERFORM pg_advisory_xact_lock_shared(store_lock);
    PERFORM pg_advisory_xact_lock(tenant_locks, hashtext(p_tenant));
    SELECT MIN(r.deadline_at) INTO earliest FROM requests r
        WHERE r.tenant = p_tenant AND r.deadline_at IS NOT NULL AND r.deadline_at <= due_by;
    RETURN earliest;
END;
$$;

-- A transaction's first audit append: the positions lock, then the newest
-- store position and, unless `known` is that position (the caller knows
-- the tenant's head as of it), the tenant's head and newest `at`.
CREATE FUNCTION lockbox_audit_tail(positions_lock BIGINT, p_tenant TEXT, known BIGINT,
    OUT o_seq BIGINT, OUT o_tenant_seq BIGINT, OUT o_hash TEXT, OUT o_max_at BIGINT)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(positions_lock);
    SELECT m.seq, h.tenant_seq, h.hash,
           CASE WHEN m.seq <> known THEN (SELECT MAX(a.at) FROM audit_log a WHERE a.tenant = p_tenant) END
        INTO o_seq, o_tenant_seq, o_hash, o_max_at
        FROM (SELECT COALESCE(MAX(a.seq), 0) AS seq FROM audit_log a) AS m
        LEFT JOIN LATERAL (SELECT a.tenant_seq, a.hash FROM audit_log a
                           WHERE a.tenant = p_tenant AND m.seq <> known
                           ORDER BY a.tenant_seq DESC LIMIT 1) AS h ON true;
END;
$$;

-- Lockbox store, schema version 1.
-- Times are INTEGER milliseconds since the Unix epoch, UTC.

CREATE TABLE tenants (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE settings (
    tenant                       TEXT PRIMARY KEY REFERENCES tenants(id),
    lockbox_enabled              INTEGER NOT NULL CHECK (lockbox_enabled IN (0, 1)),
    request_lifetime_s           INTEGER NOT NULL CHECK (request_lifetime_s > 0),
    max_access_duration_s        INTEGER NOT NULL CHECK (max_access_duration_s > 0),
    approvals_required           INTEGER NOT NULL CHECK (approvals_required >= 1),
    provider_approvals_required  INTEGER NOT NULL CHECK (provider_approvals_required >= 0),
    reminder_lead_s              INTEGER CHECK (reminder_lead_s IS NULL OR reminder_lead_s > 0)
) STRICT;

CREATE TABLE users (
    tenant      TEXT NOT NULL REFERENCES tenants(id),
    name        TEXT NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('admin', 'approver')),
    email       TEXT,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant, name)
) STRICT;

CREATE TABLE requests (
    id                           TEXT PRIMARY KEY,
    tenant                       TEXT NOT NULL REFERENCES tenants(id),
    state                        TEXT NOT NULL CHECK (state IN ('awaiting_provider', 'pending',
                                     'approved', 'completed', 'rejected', 'expired', 'canceled', 'revoked')),
    case_number                  TEXT NOT NULL,
    workload                     TEXT NOT NULL,
    resource                     TEXT NOT NULL,
    reason                       TEXT NOT NULL,
    requester                    TEXT NOT NULL,
    requested_duration_s         INTEGER NOT NULL CHECK (requested_duration_s > 0),
    granted_duration_s           INTEGER,
    created_at                   INTEGER NOT NULL,
    expires_at                   INTEGER NOT NULL,
    approved_at                  INTEGER,
    access_ends_at               INTEGER,
    closed_at                    INTEGER,
    approvals_required           INTEGER NOT NULL,
    provider_approvals_required  INTEGER NOT NULL,
    lockbox_required             INTEGER NOT NULL CHECK (lockbox_required IN (0, 1)),
    -- When time alone next changes this request (expiry or end of access); NULL when terminal.
    deadline_at                  INTEGER
) STRICT;

CREATE INDEX requests_by_tenant_created ON requests (tenant, created_at DESC, id DESC);
CREATE INDEX requests_by_tenant_state ON requests (tenant, state, created_at DESC, id DESC);
CREATE INDEX requests_by_deadline ON requests (deadline_at) WHERE deadline_at IS NOT NULL;

CREATE TABLE decisions (
    request_id  TEXT NOT NULL REFERENCES requests(id),
    idx         INTEGER NOT NULL,
    level       TEXT NOT NULL CHECK (level IN ('provider', 'customer')),
    actor       TEXT NOT NULL,
    decision    TEXT NOT NULL CHECK (decision IN ('approve', 'reject', 'revoke', 'cancel')),
    comment     TEXT,
    duration_s  INTEGER,
    at          INTEGER NOT NULL,
    PRIMARY KEY (request_id, idx)
) STRICT;

-- Append-only and hash-chained: see audit.rs for the encoding.
CREATE TABLE audit_log (
    seq          INTEGER PRIMARY KEY,
    at           INTEGER NOT NULL,   -- effective time (a deadline for deadline-driven entries)
    recorded_at  INTEGER NOT NULL,   -- when it was written
    tenant       TEXT NOT NULL,
    actor_kind   TEXT NOT NULL,
    actor        TEXT NOT NULL,
    operation    TEXT NOT NULL,
    request_id   TEXT,
    details      TEXT NOT NULL,
    prev_hash    TEXT NOT NULL,
    hash         TEXT NOT NULL
) STRICT;

CREATE INDEX audit_by_tenant ON audit_log (tenant, seq);
CREATE INDEX audit_by_request ON audit_log (request_id, seq) WHERE request_id IS NOT NULL;
CREATE INDEX audit_by_actor ON audit_log (tenant, actor, seq);
CREATE INDEX audit_by_operation ON audit_log (tenant, operation, seq);
CREATE INDEX audit_by_time ON audit_log (tenant, at);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE refused');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: DELETE refused');
END;

-- Things the outside world must hear about exactly once (OS notifications,
-- email). Written in the same transaction as the change; consumers mark
-- their channel done.
CREATE TABLE notices (
    id          INTEGER PRIMARY KEY,
    tenant      TEXT NOT NULL,
    request_id  TEXT NOT NULL,
    kind        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    UNIQUE (request_id, kind)
) STRICT;

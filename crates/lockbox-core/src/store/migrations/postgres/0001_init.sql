-- Lockbox store on PostgreSQL, schema version 1: the tables of SQLite schema
-- version 7 (see ../0001_init.sql .. ../0007_audit_per_tenant.sql), spelled
-- for PostgreSQL. Integers are BIGINT (times in milliseconds since the Unix
-- epoch, UTC; flags 0/1, as on SQLite, so one query text fits both), text is
-- collated "C" (bytewise, as SQLite orders it, whatever the database's locale).

CREATE TABLE tenants (
    id          TEXT COLLATE "C" PRIMARY KEY,
    name        TEXT COLLATE "C" NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE settings (
    tenant                       TEXT COLLATE "C" PRIMARY KEY REFERENCES tenants(id),
    lockbox_enabled              BIGINT NOT NULL CHECK (lockbox_enabled IN (0, 1)),
    request_lifetime_s           BIGINT NOT NULL CHECK (request_lifetime_s > 0),
    max_access_duration_s        BIGINT NOT NULL CHECK (max_access_duration_s > 0),
    approvals_required           BIGINT NOT NULL CHECK (approvals_required >= 1),
    provider_approvals_required  BIGINT NOT NULL CHECK (provider_approvals_required >= 0),
    reminder_lead_s              BIGINT CHECK (reminder_lead_s IS NULL OR reminder_lead_s > 0)
);

CREATE TABLE users (
    tenant      TEXT COLLATE "C" NOT NULL REFERENCES tenants(id),
    name        TEXT COLLATE "C" NOT NULL,
    role        TEXT COLLATE "C" NOT NULL CHECK (role IN ('admin', 'approver')),
    email       TEXT COLLATE "C",
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant, name)
);

CREATE TABLE requests (
    id                           TEXT COLLATE "C" PRIMARY KEY,
    tenant                       TEXT COLLATE "C" NOT NULL REFERENCES tenants(id),
    state                        TEXT COLLATE "C" NOT NULL CHECK (state IN ('awaiting_provider', 'pending',
                                     'approved', 'completed', 'rejected', 'expired', 'canceled', 'revoked')),
    case_number                  TEXT COLLATE "C" NOT NULL,
    workload                     TEXT COLLATE "C" NOT NULL,
    resource                     TEXT COLLATE "C" NOT NULL,
    reason                       TEXT COLLATE "C" NOT NULL,
    requester                    TEXT COLLATE "C" NOT NULL,
    requested_duration_s         BIGINT NOT NULL CHECK (requested_duration_s > 0),
    granted_duration_s           BIGINT,
    created_at                   BIGINT NOT NULL,
    expires_at                   BIGINT NOT NULL,
    approved_at                  BIGINT,
    access_ends_at               BIGINT,
    closed_at                    BIGINT,
    approvals_required           BIGINT NOT NULL,
    provider_approvals_required  BIGINT NOT NULL,
    lockbox_required             BIGINT NOT NULL CHECK (lockbox_required IN (0, 1)),
    -- When time alone next changes this request (expiry or end of access); NULL when terminal.
    deadline_at                  BIGINT
);
CREATE INDEX requests_by_tenant_created ON requests (tenant, created_at DESC, id DESC);
CREATE INDEX requests_by_tenant_state ON requests (tenant, state, created_at DESC, id DESC);
CREATE INDEX requests_by_deadline ON requests (deadline_at) WHERE deadline_at IS NOT NULL;
CREATE INDEX requests_pending ON requests (state, expires_at) WHERE state = 'pending';

CREATE TABLE decisions (
    request_id  TEXT COLLATE "C" NOT NULL REFERENCES requests(id),
    idx         BIGINT NOT NULL,
    level       TEXT COLLATE "C" NOT NULL CHECK (level IN ('provider', 'customer')),
    actor       TEXT COLLATE "C" NOT NULL,
    decision    TEXT COLLATE "C" NOT NULL CHECK (decision IN ('approve', 'reject', 'revoke', 'cancel')),
    comment     TEXT COLLATE "C",
    duration_s  BIGINT,
    at          BIGINT NOT NULL,
    PRIMARY KEY (request_id, idx)
);

-- Append-only and hash-chained: see audit.rs for the encoding. `seq` is
-- given by the engine (the newest + 1, under the write lock).
CREATE TABLE audit_log (
    seq          BIGINT PRIMARY KEY,
    at           BIGINT NOT NULL,
    recorded_at  BIGINT NOT NULL,
    tenant       TEXT COLLATE "C" NOT NULL,
    actor_kind   TEXT COLLATE "C" NOT NULL,
    actor        TEXT COLLATE "C" NOT NULL,
    operation    TEXT COLLATE "C" NOT NULL,
    request_id   TEXT COLLATE "C",
    details      TEXT COLLATE "C" NOT NULL,
    prev_hash    TEXT COLLATE "C" NOT NULL,
    hash         TEXT COLLATE "C" NOT NULL,
    late         BIGINT NOT NULL DEFAULT 1 CHECK (late IN (0, 1)),
    tenant_seq   BIGINT,
    v1_hash      TEXT COLLATE "C"
);
CREATE INDEX audit_by_tenant ON audit_log (tenant, seq);
CREATE INDEX audit_by_request ON audit_log (request_id, seq) WHERE request_id IS NOT NULL;
CREATE INDEX audit_by_actor ON audit_log (tenant, actor, seq);
CREATE INDEX audit_by_operation ON audit_log (tenant, operation, seq);
CREATE INDEX audit_by_time ON audit_log (tenant, at);
CREATE INDEX audit_in_order_by_time ON audit_log (tenant, at) WHERE late = 0;
CREATE INDEX audit_late_by_time ON audit_log (tenant, at) WHERE late = 1;
CREATE UNIQUE INDEX audit_chain ON audit_log (tenant, tenant_seq);
CREATE INDEX audit_lifecycle ON audit_log (request_id, seq)
    WHERE request_id IS NOT NULL AND operation NOT IN ('access_used', 'access_denied');

CREATE FUNCTION lockbox_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP;
END;
$$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION lockbox_audit_append_only();
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION lockbox_audit_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION lockbox_audit_append_only();

CREATE TABLE notices (
    id          BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    tenant      TEXT COLLATE "C" NOT NULL,
    request_id  TEXT COLLATE "C" NOT NULL,
    kind        TEXT COLLATE "C" NOT NULL,
    created_at  BIGINT NOT NULL,
    UNIQUE (request_id, kind)
);
CREATE TABLE notice_deliveries (
    notice_id        BIGINT NOT NULL REFERENCES notices(id),
    channel          TEXT COLLATE "C" NOT NULL,
    claimed_at       BIGINT NOT NULL,
    outcome          TEXT COLLATE "C" NOT NULL CHECK (outcome IN ('claimed', 'sent', 'failed', 'skipped')),
    detail           TEXT COLLATE "C",
    attempts         BIGINT NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT,
    PRIMARY KEY (notice_id, channel)
);

CREATE TABLE api_tokens (
    id          TEXT COLLATE "C" PRIMARY KEY,
    tenant      TEXT COLLATE "C" NOT NULL REFERENCES tenants(id),
    name        TEXT COLLATE "C" NOT NULL,
    token_hash  TEXT COLLATE "C" NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT,
    revoked_at  BIGINT,
    UNIQUE (tenant, name)
);

CREATE TABLE receipts (
    seq         BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    request_id  TEXT COLLATE "C" NOT NULL REFERENCES requests(id),
    tenant      TEXT COLLATE "C" NOT NULL,
    decision    TEXT COLLATE "C" NOT NULL,
    body        TEXT COLLATE "C" NOT NULL,
    signature   TEXT COLLATE "C" NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX receipts_by_request ON receipts (request_id, seq);

CREATE TABLE smtp_settings (
    tenant        TEXT COLLATE "C" PRIMARY KEY REFERENCES tenants(id),
    host          TEXT COLLATE "C" NOT NULL,
    port          BIGINT NOT NULL CHECK (port BETWEEN 1 AND 65535),
    security      TEXT COLLATE "C" NOT NULL CHECK (security IN ('none', 'starttls', 'tls')),
    username      TEXT COLLATE "C",
    -- Always NULL: the SMTP password lives in the OS keyring (see ../0005).
    password      TEXT COLLATE "C" CONSTRAINT smtp_password_is_kept_in_the_os_keyring CHECK (password IS NULL),
    from_address  TEXT COLLATE "C" NOT NULL
);

CREATE TABLE app_settings (
    key    TEXT COLLATE "C" PRIMARY KEY,
    value  TEXT COLLATE "C" NOT NULL
);
INSERT INTO app_settings (key, value) VALUES ('store.id', replace(gen_random_uuid()::text, '-', ''));

CREATE TABLE audit_checkpoints (
    id          BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    tenant      TEXT COLLATE "C" NOT NULL,
    entries     BIGINT NOT NULL,
    head_hash   TEXT COLLATE "C" NOT NULL,
    at          BIGINT NOT NULL,
    key_id      TEXT COLLATE "C" NOT NULL,
    body        TEXT COLLATE "C" NOT NULL,
    signature   TEXT COLLATE "C" NOT NULL
);
CREATE INDEX audit_checkpoints_by_tenant ON audit_checkpoints (tenant, id);

-- Bumped by every write transaction: other instances' commits show in
-- `Store::change_marks` (and NOTIFY lockbox_changes wakes listeners).
CREATE SEQUENCE lockbox_changes;

-- Provider API tokens (stored only as SHA-256 hashes), signed decision
-- receipts, per-tenant SMTP settings, email delivery retries, app settings.

CREATE TABLE api_tokens (
    id          TEXT PRIMARY KEY,
    tenant      TEXT NOT NULL REFERENCES tenants(id),
    name        TEXT NOT NULL,
    token_hash  TEXT NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER,
    revoked_at  INTEGER,
    UNIQUE (tenant, name)
) STRICT;

CREATE TABLE receipts (
    seq         INTEGER PRIMARY KEY,
    request_id  TEXT NOT NULL REFERENCES requests(id),
    tenant      TEXT NOT NULL,
    decision    TEXT NOT NULL,
    body        TEXT NOT NULL,   -- canonical JSON, exactly the signed bytes after the header line
    signature   TEXT NOT NULL,   -- base64 Ed25519 signature
    created_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX receipts_by_request ON receipts (request_id, seq);

CREATE TABLE smtp_settings (
    tenant        TEXT PRIMARY KEY REFERENCES tenants(id),
    host          TEXT NOT NULL,
    port          INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),
    security      TEXT NOT NULL CHECK (security IN ('none', 'starttls', 'tls')),
    username      TEXT,
    password      TEXT,
    from_address  TEXT NOT NULL
) STRICT;

ALTER TABLE notice_deliveries ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE notice_deliveries ADD COLUMN next_attempt_at INTEGER;

-- Store-wide settings of the shells (API address, TLS files).
CREATE TABLE app_settings (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
) STRICT;

-- 0007: one hash chain per tenant (`lockbox-audit-v2`).
--
-- Adds `tenant_seq` (position in the tenant's chain, hashed) and `v1_hash`
-- (an entry's hash in the old global chain, kept for stores re-chained by
-- this migration), re-chains existing entries and appends an
-- `audit_rechained` entry to each tenant's chain. It needs SHA-256, so it
-- is Rust: see `store/rechain.rs`, which runs right after this file.


-- Signed checkpoints of each tenant's chain (`checkpoint.rs`): what a
-- verified log looked like, so truncation and rewrites show. Written by the
-- engine at every decision receipt and at least hourly while entries arrive.
CREATE TABLE IF NOT EXISTS audit_checkpoints (
    id          INTEGER PRIMARY KEY,
    tenant      TEXT NOT NULL,
    entries     INTEGER NOT NULL,  -- the head's tenant_seq
    head_hash   TEXT NOT NULL,
    at          INTEGER NOT NULL,  -- when it was signed (ms)
    key_id      TEXT NOT NULL,
    body        TEXT NOT NULL,     -- the signed canonical JSON
    signature   TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS audit_checkpoints_by_tenant ON audit_checkpoints (tenant, id);

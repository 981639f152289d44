-- 0007: one hash chain per tenant (`lockbox-audit-v2`).
--
-- Adds `tenant_seq` (position in the tenant's chain, hashed) and `v1_hash`
-- (an entry's hash in the old global chain, kept for stores re-chained by
-- this migration), re-chains existing entries and appends an
-- `audit_rechained` entry to each tenant's chain. It needs SHA-256, so it
-- is Rust: see `store/rechain.rs`, which runs right after this file.
SELECT 1;

-- The team server's sign-in sessions (`lockbox_core::sessions`): one row per
-- issued pair of tokens (access + refresh), a sign-in's rows one family.
-- Only the tokens' SHA-256 is stored. A refresh marks its row `rotated_at`
-- and adds the family's next row; a rotated refresh token used again
-- revokes the whole family (`revoked_at` on each of its rows).
-- (IF NOT EXISTS: tests rebuild older stores by lowering user_version.)
CREATE TABLE IF NOT EXISTS admin_sessions (
    id                 TEXT PRIMARY KEY,
    family             TEXT NOT NULL,
    access_hash        TEXT NOT NULL UNIQUE,
    refresh_hash       TEXT NOT NULL UNIQUE,
    issuer             TEXT NOT NULL,
    client_id          TEXT NOT NULL,
    subject            TEXT NOT NULL,
    email              TEXT NOT NULL,
    created_at         INTEGER NOT NULL,
    access_expires_at  INTEGER NOT NULL,
    refresh_expires_at INTEGER NOT NULL,
    rotated_at         INTEGER,
    revoked_at         INTEGER
);
CREATE INDEX IF NOT EXISTS admin_sessions_family ON admin_sessions (family);

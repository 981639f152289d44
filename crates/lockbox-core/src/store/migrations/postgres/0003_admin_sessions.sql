-- The team server's sign-in sessions: see the SQLite migration 0009.
CREATE TABLE admin_sessions (
    id                 TEXT COLLATE "C" PRIMARY KEY,
    family             TEXT COLLATE "C" NOT NULL,
    access_hash        TEXT COLLATE "C" NOT NULL UNIQUE,
    refresh_hash       TEXT COLLATE "C" NOT NULL UNIQUE,
    issuer             TEXT COLLATE "C" NOT NULL,
    client_id          TEXT COLLATE "C" NOT NULL,
    subject            TEXT COLLATE "C" NOT NULL,
    email              TEXT COLLATE "C" NOT NULL,
    created_at         BIGINT NOT NULL,
    access_expires_at  BIGINT NOT NULL,
    refresh_expires_at BIGINT NOT NULL,
    rotated_at         BIGINT,
    revoked_at         BIGINT
);
CREATE INDEX admin_sessions_family ON admin_sessions (family);

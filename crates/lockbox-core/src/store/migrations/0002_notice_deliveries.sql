-- Which notices each channel (desktop notification, email) has handled:
-- a row is written when a channel claims a notice, so each fires once even
-- across restarts and with several processes on the store.
CREATE TABLE notice_deliveries (
    notice_id     INTEGER NOT NULL REFERENCES notices(id),
    channel       TEXT NOT NULL,
    claimed_at    INTEGER NOT NULL,
    outcome       TEXT NOT NULL CHECK (outcome IN ('claimed', 'sent', 'failed', 'skipped')),
    detail        TEXT,
    PRIMARY KEY (notice_id, channel)
) STRICT;

CREATE INDEX requests_pending ON requests (state, expires_at) WHERE state = 'pending';

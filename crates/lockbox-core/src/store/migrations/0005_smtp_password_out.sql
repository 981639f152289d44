-- 0005: the SMTP password leaves the store (it lives in the OS keyring, or
-- LOCKBOX_SMTP_PASSWORD in the sending process's environment).
--
-- `store.id` names this store's keyring entries (one per tenant), so that two
-- stores of one user do not share a password. Passwords written by older
-- builds are moved to the keyring by the engine when it opens the store (it
-- needs the keyring, which SQL cannot reach); from here on the column may
-- only be NULL.
INSERT OR IGNORE INTO app_settings (key, value) VALUES ('store.id', lower(hex(randomblob(16))));

CREATE TRIGGER IF NOT EXISTS smtp_password_not_stored_insert BEFORE INSERT ON smtp_settings
WHEN NEW.password IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'smtp_settings.password: the SMTP password is kept in the OS keyring, never in the store');
END;
CREATE TRIGGER IF NOT EXISTS smtp_password_not_stored_update BEFORE UPDATE OF password ON smtp_settings
WHEN NEW.password IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'smtp_settings.password: the SMTP password is kept in the OS keyring, never in the store');
END;

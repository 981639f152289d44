-- A sweep takes one tenant at a time: its due deadlines, by tenant.
-- (IF NOT EXISTS: tests rebuild older stores by lowering user_version.)
CREATE INDEX IF NOT EXISTS requests_due_by_tenant ON requests (tenant, deadline_at)
    WHERE deadline_at IS NOT NULL;

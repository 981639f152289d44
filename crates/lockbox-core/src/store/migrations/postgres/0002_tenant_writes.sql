-- A sweep takes one tenant at a time (a write scoped to that tenant, see
-- pg.rs): its due deadlines, by tenant.
CREATE INDEX requests_due_by_tenant ON requests (tenant, deadline_at)
    WHERE deadline_at IS NOT NULL;

"""The desktop benchmarks' store (desktop.sh, idle-probe.sh): 10 000 pending
requests (fixture rows written directly; the engine owns them from then on),
plus EXPIRING pending requests whose deadlines are spread evenly over
[now + FROM_S, now + FROM_S + SPAN_S).

Usage: desktop-fixture.py STORE EXPIRING FROM_S SPAN_S (the store made first,
e.g. by `lockbox settings set reminder-lead off`)."""
import sqlite3, sys, time, uuid
db = sqlite3.connect(sys.argv[1]); now = int(time.time() * 1000); far = now + 29 * 86400 * 1000
n_exp, start, span = int(sys.argv[2]), int(sys.argv[3]) * 1000, int(sys.argv[4]) * 1000
rows = [(str(uuid.uuid4()), "default", "pending", f"SR-{i:06d}", "Exchange Online", f"Mailbox: user{i}@contoso.example",
         "Benchmark fixture", f"eng{i % 50}@provider.example", 3600, now - i, far, 1, 1, 1, far) for i in range(10000)]
for j in range(n_exp):
    at = now + start + (span * j) // max(n_exp, 1)
    rows.append((str(uuid.uuid4()), "default", "pending", f"SR-9{j:05d}", "Teams", f"Team: ops{j}",
                 "Benchmark fixture: expires while idle", "eng@provider.example", 3600, now - 20000 - j, at, 1, 1, 1, at))
db.executemany("""INSERT INTO requests (id, tenant, state, case_number, workload, resource, reason, requester,
  requested_duration_s, created_at, expires_at, approvals_required, provider_approvals_required, lockbox_required, deadline_at)
  VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)""", rows)
db.commit()

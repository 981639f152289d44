#!/usr/bin/env python3
"""API throughput probe (one client, keep-alive, sequential): files N requests,
then times 2000 access checks. Start a server first, e.g.
  lockbox token issue --name bench   # prints the token
  lockbox serve --bind 127.0.0.1:18899 --rate 100000 &
  tests/api/throughput.py TOKEN [PORT] [N]
Prints requests filed per second and the access check's p50/p99/max."""
import http.client, json, sys, time

tok = sys.argv[1]
port = int(sys.argv[2]) if len(sys.argv) > 2 else 18899
n = int(sys.argv[3]) if len(sys.argv) > 3 else 300
headers = {"Authorization": "Bearer " + tok, "Content-Type": "application/json"}
conn = http.client.HTTPConnection("127.0.0.1", port)


def call(method, path, body=None):
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    r = conn.getresponse()
    return r.status, r.read()


t0 = time.perf_counter()
ids = []
for i in range(n):
    s, d = call("POST", "/v1/requests", {"engineer": "eng", "case": f"SR-{i}", "workload": "Exchange",
                                         "resource": "mbx", "reason": "bench", "duration": "1h"})
    assert s == 201, (s, d)
    ids.append(json.loads(d)["id"])
t1 = time.perf_counter()
lat = []
for i in range(2000):
    a = time.perf_counter()
    s, _ = call("GET", f"/v1/requests/{ids[i % n]}/access")
    lat.append((time.perf_counter() - a) * 1000)
    assert s == 200
lat.sort()
print(f"filed {n} requests in {t1 - t0:.2f} s: {n / (t1 - t0):.0f} requests/s (one client, keep-alive, sequential)")
print(f"access check x2000: p50 {lat[1000]:.2f} ms, p99 {lat[1979]:.2f} ms, max {lat[-1]:.2f} ms")

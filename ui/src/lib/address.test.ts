import { describe, expect, it } from "vitest";
import { parseSocketAddr } from "./address";

describe("parseSocketAddr", () => {
  it("accepts IPv4 and bracketed IPv6 with a port, like Rust's SocketAddr", () => {
    expect(parseSocketAddr("127.0.0.1:8787")).toMatchObject({ port: 8787, v6: false, loopback: true });
    expect(parseSocketAddr(" 127.10.0.3:1 ")).toMatchObject({ loopback: true });
    expect(parseSocketAddr("192.168.1.20:8443")).toMatchObject({ loopback: false });
    expect(parseSocketAddr("0.0.0.0:80")).toMatchObject({ loopback: false });
    expect(parseSocketAddr("[::1]:8787")).toMatchObject({ v6: true, loopback: true });
    expect(parseSocketAddr("[0:0:0:0:0:0:0:1]:8787")).toMatchObject({ loopback: true });
    expect(parseSocketAddr("[::]:8787")).toMatchObject({ loopback: false });
    expect(parseSocketAddr("[fe80::1]:8787")).toMatchObject({ loopback: false });
    expect(parseSocketAddr("[::ffff:127.0.0.1]:8787")).toMatchObject({ loopback: false });
  });

  it("refuses host names, missing or bad ports and bad IPs", () => {
    for (const bad of ["", "localhost:8787", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "256.0.0.1:80", "01.0.0.1:80", "::1:8787", "[::1]", "[1::2::3]:80", "[::1]:x", "1.2.3:80"]) {
      expect(parseSocketAddr(bad), bad).toBeNull();
    }
  });
});

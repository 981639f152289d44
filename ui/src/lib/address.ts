// Socket addresses as the engine accepts them (Rust's `SocketAddr`):
// "127.0.0.1:8787" or "[::1]:8787" — an IP literal and a port, no host names.

export type SocketAddr = { ip: string; port: number; v6: boolean; loopback: boolean };

function parsePort(text: string): number | null {
  if (!/^\d{1,5}$/.test(text)) return null;
  const n = Number(text);
  return n <= 65535 ? n : null;
}

function parseV4(text: string): number[] | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  const out: number[] = [];
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || (p.length > 1 && p.startsWith("0"))) return null;
    const n = Number(p);
    if (n > 255) return null;
    out.push(n);
  }
  return out;
}

/** The eight 16-bit groups of an IPv6 address, or null. */
function parseV6(text: string): number[] | null {
  if (!/^[0-9a-fA-F:.]+$/.test(text)) return null;
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const groups = (s: string): number[] | null => {
    if (s === "") return [];
    const out: number[] = [];
    const parts = s.split(":");
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i] ?? "";
      if (i === parts.length - 1 && p.includes(".")) {
        const v4 = parseV4(p);
        if (!v4) return null;
        out.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return null;
        out.push(parseInt(p, 16));
      }
    }
    return out;
  };
  const head = groups(halves[0] ?? "");
  if (!head) return null;
  if (halves.length === 1) return head.length === 8 ? head : null;
  const tail = groups(halves[1] ?? "");
  if (!tail || head.length + tail.length > 7) return null;
  return [...head, ...Array<number>(8 - head.length - tail.length).fill(0), ...tail];
}

/** Parses "IPv4:port" or "[IPv6]:port"; null when it isn't one. */
export function parseSocketAddr(text: string): SocketAddr | null {
  const t = text.trim();
  const v6 = /^\[([^\]]+)\]:([^:]+)$/.exec(t);
  if (v6) {
    const g = parseV6(v6[1] ?? "");
    const port = parsePort(v6[2] ?? "");
    if (!g || port === null) return null;
    const loopback = g.slice(0, 7).every((x) => x === 0) && g[7] === 1;
    return { ip: v6[1] ?? "", port, v6: true, loopback };
  }
  const v4 = /^([^:]+):([^:]+)$/.exec(t);
  if (v4) {
    const o = parseV4(v4[1] ?? "");
    const port = parsePort(v4[2] ?? "");
    if (!o || port === null) return null;
    return { ip: v4[1] ?? "", port, v6: false, loopback: o[0] === 127 };
  }
  return null;
}

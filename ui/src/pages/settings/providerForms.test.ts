import { describe, expect, it } from "vitest";
import { toSmtpForm, validateApiForm, validateConnectionName, validateSmtpForm } from "./providerForms";

describe("validateApiForm", () => {
  const f = (over: Partial<{ enabled: boolean; bind: string; tls_cert: string; tls_key: string }> = {}) => ({
    enabled: true,
    bind: "127.0.0.1:8787",
    tls_cert: "",
    tls_key: "",
    ...over,
  });

  it("accepts loopback without TLS and sends empty paths as null", () => {
    expect(validateApiForm(f())).toEqual({ ok: true, settings: { enabled: true, bind: "127.0.0.1:8787", tls_cert: null, tls_key: null } });
    expect(validateApiForm(f({ bind: "[::1]:8787" })).ok).toBe(true);
    expect(validateApiForm(f({ bind: "LOCALHOST:8080" }))).toMatchObject({ ok: true, settings: { bind: "127.0.0.1:8080" } });
  });

  it("requires TLS for other addresses and the certificate and key together", () => {
    const r = validateApiForm(f({ bind: "0.0.0.0:8787" }));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(Object.keys(r.errors).sort()).toEqual(["tls_cert", "tls_key"]);
    expect(validateApiForm(f({ tls_cert: "/c.pem" }))).toMatchObject({ ok: false, errors: { tls_key: expect.any(String) } });
    expect(validateApiForm(f({ tls_key: "/k.pem" }))).toMatchObject({ ok: false, errors: { tls_cert: expect.any(String) } });
    expect(validateApiForm(f({ bind: "10.1.2.3:8443", tls_cert: " /c.pem ", tls_key: "/k.pem" }))).toEqual({
      ok: true,
      settings: { enabled: true, bind: "10.1.2.3:8443", tls_cert: "/c.pem", tls_key: "/k.pem" },
    });
  });

  it("refuses addresses the engine can't parse", () => {
    for (const bind of ["", "api.contoso.com:8787", "127.0.0.1", "127.0.0.1:99999"]) {
      expect(validateApiForm(f({ bind })), bind).toMatchObject({ ok: false, errors: { bind: expect.any(String) } });
    }
  });
});

describe("validateSmtpForm", () => {
  const good = { host: "smtp.contoso.com", port: "587", security: "starttls" as const, username: "", password: "", from_address: "lockbox@contoso.com" };

  it("builds the SmtpInput, with null username and password when empty", () => {
    expect(validateSmtpForm(good, false)).toEqual({
      ok: true,
      smtp: { host: "smtp.contoso.com", port: 587, security: "starttls", username: null, password: null, from_address: "lockbox@contoso.com" },
    });
  });

  it("keeps a stored password when the field is empty", () => {
    expect(validateSmtpForm({ ...good, username: "mailer" }, true)).toMatchObject({ ok: true, smtp: { username: "mailer", password: null } });
    expect(validateSmtpForm({ ...good, username: "mailer" }, false)).toMatchObject({ ok: false, errors: { password: expect.any(String) } });
  });

  it("checks host, port, username and from address", () => {
    const r = validateSmtpForm({ ...good, host: "https://x", port: "0", password: "p", from_address: "x@y" }, false);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(Object.keys(r.errors).sort()).toEqual(["from_address", "host", "port", "username"]);
    for (const port of ["", "65536", "1.5", "-1"]) {
      expect(validateSmtpForm({ ...good, port }, false)).toMatchObject({ ok: false, errors: { port: "Enter a port between 1 and 65535." } });
    }
    expect(validateSmtpForm({ ...good, port: "65535" }, false).ok).toBe(true);
  });

  it("starts a new server on STARTTLS port 587 and never pre-fills the password", () => {
    expect(toSmtpForm(null)).toMatchObject({ port: "587", security: "starttls", password: "" });
    expect(toSmtpForm({ host: "h", port: 465, security: "tls", username: null, password_set: true, from_address: "a@b.c" })).toMatchObject({
      port: "465",
      security: "tls",
      username: "",
      password: "",
    });
  });
});

describe("validateConnectionName", () => {
  it("needs a name of at most 128 characters", () => {
    expect(validateConnectionName("  ")).toBe("Enter a name for this connection.");
    expect(validateConnectionName("x".repeat(129))).toMatch(/too long/);
    expect(validateConnectionName("Ticketing")).toBeUndefined();
  });
});

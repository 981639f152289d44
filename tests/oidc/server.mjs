// A real OpenID provider for Lockbox's sign-in tests: oidc-provider (an
// OpenID-certified implementation) on 127.0.0.1:PORT, issuer
// http://127.0.0.1:PORT. Usage: node server.mjs PORT
//
// - Clients: `lockbox-desktop` (the desktop app: public, PKCE required, a
//   loopback redirect on any port as RFC 8252 §7.3 allows a native app) and
//   `other-app` (the same, for tokens of another audience).
// - devInteractions: oidc-provider's built-in login and consent pages. Any
//   login and password sign in; the login is the account id and its email.
//   A login starting with `unverified` has `email_verified: false`.
// - The `email` scope's claims are in the ID token too (conformIdTokenClaims
//   off): the ID token is what Lockbox's team server verifies.
// - deviceFlow is on: `lockbox login` signs in without a browser on the
//   machine. With `offline_access` it gets a refresh token (the clients may
//   use the refresh_token grant).
// - OIDC_DEVICE_TTL=SECONDS: device codes expire after SECONDS (default 600),
//   for the test that a code nobody enters ends the sign-in.
// - OIDC_HOSTILE_DEVICE_TEXT=TEXT appends TEXT to the verification URIs of
//   every device authorization response: a hostile provider's terminal
//   escapes, for the test that a client prints them harmlessly.
//
// A fresh RS256 signing key per start (no key material in the repository).
// Prints "listening ISSUER" on stdout once it accepts connections.
import Provider from 'oidc-provider';
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error('usage: node server.mjs PORT');
  process.exit(2);
}
const tls = process.env.OIDC_TLS_CERT && process.env.OIDC_TLS_KEY
  ? { cert: readFileSync(process.env.OIDC_TLS_CERT), key: readFileSync(process.env.OIDC_TLS_KEY) }
  : null;
const issuer = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = {
  ...privateKey.export({ format: 'jwk' }),
  kid: randomUUID(),
  use: 'sig',
  alg: 'RS256',
};

const nativeClient = (clientId) => ({
  client_id: clientId,
  application_type: 'native',
  token_endpoint_auth_method: 'none',
  redirect_uris: ['http://127.0.0.1/callback'],
  response_types: ['code'],
  grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
});

const configuration = {
  clients: [nativeClient('lockbox-desktop'), nativeClient('other-app')],
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  scopes: ['openid', 'email', 'offline_access'],
  claims: { openid: ['sub'], email: ['email', 'email_verified'] },
  conformIdTokenClaims: false,
  // An ID token lives an hour (the tests move Lockbox's clock past its exp).
  ttl: {
    AccessToken: 3600,
    AuthorizationCode: 60,
    DeviceCode: Number(process.env.OIDC_DEVICE_TTL) || 600,
    Grant: 86400,
    IdToken: 3600,
    Interaction: 600,
    RefreshToken: 86400,
    Session: 86400,
  },
  // PKCE is always required of a public client (token_endpoint_auth_method
  // none); say so anyway.
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: true },
    deviceFlow: { enabled: true },
  },
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return { sub: id, email: id, email_verified: !id.startsWith('unverified') };
      },
    };
  },
};

const provider = new Provider(issuer, configuration);
const hostile = process.env.OIDC_HOSTILE_DEVICE_TEXT;
if (hostile) {
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.path === '/device/auth' && ctx.body && ctx.body.verification_uri) {
      ctx.body.verification_uri += hostile;
      ctx.body.verification_uri_complete += hostile;
    }
  });
}
provider.on('server_error', (ctx, err) => console.error('server_error', err));
const listening = () => console.log(`listening ${issuer}`);
const server = tls
  ? createServer(tls, provider.callback()).listen(port, '127.0.0.1', listening)
  : provider.listen(port, '127.0.0.1', listening);
server.on('error', (err) => {
  console.error(`cannot listen on ${issuer}: ${err.message}`);
  process.exit(1);
});
// Stop when the test process that started us is gone (stdin closes).
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();

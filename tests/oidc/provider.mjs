// Real OpenID Connect providers for mcval's authentication tests: one `oidc-provider` (the
// certified Node.js implementation) per issuer, each on its own free port of 127.0.0.1.
//
// Each issuer issues RFC 9068 access tokens (RS256, header typ "at+jwt") by the client-credentials
// grant, with resource indicators: the resource decides the token's `aud` and lifetime.
//
//   https://mcval.test/api    aud "mcval-api", 300 s   (the default resource)
//   https://mcval.test/short  aud "mcval-api", 3 s     (tokens that expire while a test waits)
//   https://other.test/api    aud "other-api", 300 s   (tokens for another API)
//
// The clients come from the spec (argv[2], JSON):
//   {"issuers": [{"name": "idp-a", "clients": {"viewer-a": ["mcval/centre-a/viewers"], ...},
//                 "web_client": {"client_id": "mcval-web", "redirect_uris": ["http://127.0.0.1:P/auth/callback"]},
//                 "users": {"alice": ["mcval/centre-a/viewers"], ...}}, ...]}
// Each client's secret is "secret-" + its id; its token carries its list as the `groups` claim.
// With a web client, people sign in by the authorization code flow through the development
// login form (any user name; `users` gives the groups in their access tokens).
//
// Printed on stdout once every issuer listens (one line of JSON):
//   {"issuers": [{"name", "issuer", "token_endpoint", "jwks_uri", "test_endpoint"}, ...]}
//
// Test-only endpoints beside each provider (never part of a real identity provider):
//   POST <issuer>/_test/sign    {"header": {...}, "payload": {...}, "key": "current"|"next"|"stranger"}
//                               -> {"token": compact RS256 JWS}; the header gets alg RS256 and the
//                               key's kid unless given ("alg"/"kid" may be set to anything, to forge)
//   POST <issuer>/_test/rotate  the "next" key becomes the signing key and is published first in
//                               the JWKS (the old key stays published); a fresh "next" key is made
//   GET  <issuer>/_test/keys    {"current": kid, "next": kid, "published": [kids], "current_public_pem"}
// The process ends on SIGTERM or when stdin closes (so a killed test leaves nothing behind).
import { createPublicKey, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import http from 'node:http';

import Provider from 'oidc-provider';

const RESOURCES = {
  'https://mcval.test/api': { audience: 'mcval-api', ttl: 300 },
  'https://mcval.test/short': { audience: 'mcval-api', ttl: 3 },
  'https://other.test/api': { audience: 'other-api', ttl: 300 },
};
const DEFAULT_RESOURCE = 'https://mcval.test/api';

function newKey() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = randomBytes(8).toString('hex');
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' };
  return { kid, privateKey, jwk };
}

const b64url = (data) => Buffer.from(data).toString('base64url');

function signJws(header, payload, key) {
  const fullHeader = { alg: 'RS256', kid: key.kid, ...header };
  const input = `${b64url(JSON.stringify(fullHeader))}.${b64url(JSON.stringify(payload))}`;
  return `${input}.${b64url(sign('sha256', Buffer.from(input), key.privateKey))}`;
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function reply(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

class Issuer {
  constructor(spec) {
    this.name = spec.name;
    this.clients = spec.clients || {};
    this.users = spec.users || {};
    this.web = spec.web_client || null;
    this.current = newKey();
    this.next = newKey();
    this.stranger = newKey();  // never published anywhere
    this.published = [this.current];
    this.server = http.createServer((req, res) => this.handle(req, res));
  }

  async listen() {
    await new Promise((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.issuer = `http://127.0.0.1:${this.server.address().port}`;
    this.provider = this.makeProvider();
  }

  makeProvider() {
    const { clients, users, web } = this;
    const clientList = Object.keys(clients).map((id) => ({
      client_id: id,
      client_secret: `secret-${id}`,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
    }));
    if (web) {
      clientList.push({
        client_id: web.client_id,
        client_secret: `secret-${web.client_id}`,
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: web.redirect_uris,
        token_endpoint_auth_method: 'client_secret_basic',
      });
    }
    const provider = new Provider(this.issuer, {
      clients: clientList,
      // Refresh tokens to every client allowed the grant (no offline_access consent dance).
      issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
      // The browser login of the tests: the development login form takes any user name
      // (no password check), and the web client's grant is given without a consent page.
      loadExistingGrant: async (ctx) => {
        const { client, session } = ctx.oidc;
        const existing = ctx.oidc.result?.consent?.grantId || session.grantIdFor(client.clientId);
        if (existing) return ctx.oidc.provider.Grant.find(existing);
        const grant = new ctx.oidc.provider.Grant({ clientId: client.clientId, accountId: session.accountId });
        grant.addOIDCScope('openid');
        for (const resource of Object.keys(RESOURCES)) grant.addResourceScope(resource, 'api');
        await grant.save();
        return grant;
      },
      jwks: { keys: this.published.map((k) => k.jwk) },
      cookies: { keys: [randomBytes(16).toString('hex')] },
      features: {
        devInteractions: { enabled: Boolean(web) },
        clientCredentials: { enabled: true },
        resourceIndicators: {
          enabled: true,
          defaultResource: () => DEFAULT_RESOURCE,
          useGrantedResource: () => true,
          getResourceServerInfo: (ctx, resource) => {
            const server = RESOURCES[resource];
            if (!server) throw new Provider.errors.InvalidTarget();
            return {
              scope: 'api',
              audience: server.audience,
              accessTokenTTL: server.ttl,
              accessTokenFormat: 'jwt',
              jwt: { sign: { alg: 'RS256' } },
            };
          },
        },
      },
      // Groups of a person (authorization code) by user name, of a client (client credentials) by id.
      extraTokenClaims: (ctx, token) => ({
        groups: token.accountId ? users[token.accountId] || [] : clients[token.clientId] || [],
      }),
    });
    provider.on('server_error', (ctx, err) => process.stderr.write(`${this.name}: ${err.stack}\n`));
    return provider;
  }

  async handle(req, res) {
    try {
      if (req.url.startsWith('/_test/')) {
        await this.handleTest(req, res);
        return;
      }
      this.provider.callback()(req, res);
    } catch (err) {
      reply(res, 500, { error: String(err) });
    }
  }

  async handleTest(req, res) {
    if (req.method === 'POST' && req.url === '/_test/sign') {
      const body = JSON.parse((await readBody(req)) || '{}');
      const key = { current: this.current, next: this.next, stranger: this.stranger }[body.key || 'current'];
      if (!key) return reply(res, 400, { error: 'key must be current, next or stranger' });
      return reply(res, 200, { token: signJws(body.header || {}, body.payload || {}, key) });
    }
    if (req.method === 'POST' && req.url === '/_test/rotate') {
      this.current = this.next;
      this.next = newKey();
      this.published = [this.current, ...this.published];
      this.provider = this.makeProvider();
      return reply(res, 200, this.keys());
    }
    if (req.method === 'GET' && req.url === '/_test/keys') return reply(res, 200, this.keys());
    return reply(res, 404, { error: 'no such test endpoint' });
  }

  keys() {
    return {
      current: this.current.kid,
      next: this.next.kid,
      published: this.published.map((k) => k.kid),
      current_public_pem: createPublicKey(this.current.privateKey).export({ type: 'spki', format: 'pem' }),
    };
  }

  describe() {
    return {
      name: this.name,
      issuer: this.issuer,
      token_endpoint: `${this.issuer}/token`,
      jwks_uri: `${this.issuer}/jwks`,
      test_endpoint: `${this.issuer}/_test`,
    };
  }
}

const spec = JSON.parse(process.argv[2] || '{"issuers":[{"name":"idp-a"},{"name":"idp-b"}]}');
const issuers = spec.issuers.map((s) => new Issuer(s));
await Promise.all(issuers.map((i) => i.listen()));
process.stdout.write(`${JSON.stringify({ issuers: issuers.map((i) => i.describe()) })}\n`);

const stop = () => {
  for (const i of issuers) i.server.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.resume();

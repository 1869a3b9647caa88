// A Keycloak-shaped OIDC realm for rtm's local stack, started by `cargo xtask services up`.
//
// oauth2-mock-server@9.3.0 serves its routes at the root; this wraps its service under
// /realms/<realm> with Keycloak's paths, and puts the claims a test asks for into the token:
// the token request's extra form parameters `sub`, `preferred_username`, `roles` and `groups`
// (comma-separated) become `sub`, `preferred_username`, `realm_access.roles` and `groups`.
// A token's lifetime is 3600 s, or `expires_in` seconds when the token request says so, as a
// form parameter or in the token URL's query (`…/token?expires_in=3`: how a client that
// sends only the standard client-credentials form, such as rtm's Kafka client, gets
// short-lived tokens for refresh tests); `exp` and the answer's `expires_in` both follow it.
// Any client id and secret are accepted. RS256, one key generated at start.
//
// node oidc-server.mjs --modules DIR --host 127.0.0.1 --port 8180 --realm flowx
// where DIR holds node_modules/oauth2-mock-server (the npm package lives outside the repository).
import http from 'node:http';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    modules: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '8180' },
    realm: { type: 'string', default: 'flowx' },
  },
});
const entry = join(args.modules, 'node_modules', 'oauth2-mock-server', 'dist', 'index.mjs');
const { OAuth2Issuer, OAuth2Service } = await import(pathToFileURL(entry).href);

const prefix = `/realms/${args.realm}`;
const issuer = new OAuth2Issuer();
issuer.url = `http://${args.host}:${args.port}${prefix}`;
await issuer.keys.generate('RS256');
const service = new OAuth2Service(issuer, {
  token: '/protocol/openid-connect/token',
  jwks: '/protocol/openid-connect/certs',
  authorize: '/protocol/openid-connect/auth',
  userinfo: '/protocol/openid-connect/userinfo',
  revoke: '/protocol/openid-connect/revoke',
  endSession: '/protocol/openid-connect/logout',
  introspect: '/protocol/openid-connect/token/introspect',
});

// Keycloak's discovery advertises client secrets (the mock's says `none`); none is checked.
service.on('beforeWellKnownOpenIdConfiguration', (response) => {
  response.body.token_endpoint_auth_methods_supported = ['client_secret_basic', 'client_secret_post'];
});

const list = (value) => (value ?? '').split(',').map((item) => item.trim()).filter(Boolean);
// The lifetime a token request asks for, in whole seconds (1 to 86400), or undefined.
const lifetime = (req) => {
  const raw = req.body?.expires_in ?? new URL(req.url ?? '/', 'http://localhost').searchParams.get('expires_in');
  const seconds = Number(raw);
  return raw != null && Number.isInteger(seconds) && seconds > 0 && seconds <= 86400 ? seconds : undefined;
};
service.on('beforeResponse', (response, req) => {
  const seconds = lifetime(req);
  if (seconds !== undefined && response.statusCode === 200) response.body.expires_in = seconds;
});
service.on('beforeTokenSigning', (token, req) => {
  const body = req.body ?? {};
  const basic = /^Basic (.+)$/i.exec(req.headers.authorization ?? '');
  const clientId = basic ? Buffer.from(basic[1], 'base64').toString().split(':')[0] : body.client_id;
  const sub = body.sub ?? token.payload.sub ?? `service-account-${clientId ?? 'anonymous'}`;
  Object.assign(token.payload, {
    sub,
    preferred_username: body.preferred_username ?? sub,
    realm_access: { roles: list(body.roles) },
    groups: list(body.groups),
    typ: 'Bearer',
  });
  if (clientId) token.payload.azp = clientId;
  const seconds = lifetime(req);
  if (seconds !== undefined) token.payload.exp = token.payload.iat + seconds;
});

http
  .createServer((req, res) => {
    const url = req.url ?? '/';
    if (url !== prefix && !url.startsWith(`${prefix}/`) && !url.startsWith(`${prefix}?`)) {
      res.writeHead(404).end();
      return;
    }
    req.url = url.slice(prefix.length) || '/';
    service.requestHandler(req, res);
  })
  .listen(Number(args.port), args.host, () => {
    console.log(`oidc: realm ${args.realm} at ${issuer.url}`);
  });

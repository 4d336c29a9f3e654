// oidc_provider.mjs - a real OpenID provider (npm oidc-provider) for the
// e2e tests, on 127.0.0.1 over HTTPS with the test's certificate.
//
// Environment: OIDC_PORT, OIDC_ISSUER, OIDC_CERT, OIDC_KEY (PEM files),
// OIDC_JWKS (a file holding the private JWKS the provider signs with: the
// first key signs, every key is published), OIDC_MODULES (the node_modules
// folder oidc-provider was installed into).
//
// One client, "device-1" / secret "device-1-secret-0123456789", may use the
// client credentials grant (RFC 6749 4.4) for resource "urn:mqtt"; its
// access tokens are JWTs (RFC 9068) with aud "urn:mqtt", signed ES256.
// Prints "ready" on stdout when it listens.
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const modules = process.env.OIDC_MODULES;
const { default: Provider } = await import(
	pathToFileURL(path.join(modules, 'oidc-provider', 'lib', 'index.js')).href);

const issuer = process.env.OIDC_ISSUER;
const jwks = JSON.parse(fs.readFileSync(process.env.OIDC_JWKS, 'utf8'));

const provider = new Provider(issuer, {
	clients: [{
		client_id: 'device-1',
		client_secret: 'device-1-secret-0123456789',
		grant_types: ['client_credentials'],
		redirect_uris: [],
		response_types: [],
		token_endpoint_auth_method: 'client_secret_basic',
		id_token_signed_response_alg: 'ES256',
	}],
	jwks,
	features: {
		devInteractions: { enabled: false },
		clientCredentials: { enabled: true },
		resourceIndicators: {
			enabled: true,
			defaultResource: () => 'urn:mqtt',
			useGrantedResource: () => true,
			getResourceServerInfo: () => ({
				scope: 'mqtt',
				audience: 'urn:mqtt',
				accessTokenFormat: 'jwt',
				accessTokenTTL: 600,
				jwt: { sign: { alg: 'ES256' } },
			}),
		},
	},
	scopes: ['mqtt'],
});
provider.proxy = false;

const server = https.createServer({
	cert: fs.readFileSync(process.env.OIDC_CERT),
	key: fs.readFileSync(process.env.OIDC_KEY),
}, provider.callback());
server.listen(Number(process.env.OIDC_PORT), '127.0.0.1', () => {
	process.stdout.write('ready\n');
});

import { createSign } from 'node:crypto';
import type { Credential, GoogleOAuthAccessToken } from 'firebase-admin/app';
import { projectIdPattern, projectIdRule } from '../../config/check-config.js';
import { ConfigError } from '../../errors.js';
import { resolveHost } from '../resolve-host.js';
import { googleJson } from './google-json.js';

export interface ServiceAccount {
  project_id: string;
  client_email: string;
  private_key: string;
  /** Where to exchange the signed assertion for an access token; every Google key file names it. */
  token_uri?: string;
}

const defaultTokenUri = 'https://oauth2.googleapis.com/token';
const defaultTokenHost = new URL(defaultTokenUri).hostname;
/** A token is handed out again only while it has at least this long to live. */
const reuseMarginSeconds = 300;
const scopes = 'https://www.googleapis.com/auth/firebase.messaging https://www.googleapis.com/auth/cloud-platform';

export function parseServiceAccount(json: string, setting: string): ServiceAccount {
  let parsed: Partial<ServiceAccount>;
  try {
    parsed = JSON.parse(json) as Partial<ServiceAccount>;
  } catch {
    throw new ConfigError(`${setting}: not a service account JSON file`);
  }
  const missing = (['project_id', 'client_email', 'private_key'] as const).filter((key) => typeof parsed[key] !== 'string' || parsed[key] === '');
  if (missing.length > 0) throw new ConfigError(`${setting}: the service account JSON has no ${missing.join(', ')}`);
  if (parsed.token_uri !== undefined && !isHttpsUrl(parsed.token_uri)) throw new ConfigError(`${setting}: the service account's token_uri is not an https URL`);
  if (!projectIdPattern.test(parsed.project_id!)) throw new ConfigError(`${setting}: the service account's project_id is not a Google Cloud project id (${projectIdRule})`);
  return parsed as ServiceAccount;
}

/**
 * A firebase-admin Credential for a service account: the OAuth 2.0 JWT-bearer grant (RFC 7523)
 * against the key file's own `token_uri`. firebase-admin's `cert()` posts to a token URL fixed
 * inside gtoken; honouring `token_uri` lets a proxy or the emulator issue tokens through public API.
 */
export function serviceAccountCredential(account: ServiceAccount, options: { ca?: string; signal?: AbortSignal } = {}): Credential {
  const tokenUri = account.token_uri ?? defaultTokenUri;
  // pushcast's credential check and firebase-admin's first send both ask: one token serves both.
  let issued: { token: GoogleOAuthAccessToken; until: number } | undefined;
  return {
    async getAccessToken(): Promise<GoogleOAuthAccessToken> {
      if (issued && Date.now() < issued.until) return { ...issued.token, expires_in: Math.floor((issued.until - Date.now()) / 1000) + reuseMarginSeconds };
      issued = undefined;
      const now = Math.floor(Date.now() / 1000);
      const assertion = signJwt({ iss: account.client_email, scope: scopes, aud: tokenUri, iat: now, exp: now + 3600 }, account.private_key);
      const body = new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }).toString();
      // A name that does not resolve is said as for every provider host, in one line.
      const tokenUrl = new URL(tokenUri);
      await resolveHost(tokenUrl, { setting: tokenUrl.hostname === defaultTokenHost ? undefined : "the service account's token_uri", signal: options.signal });
      let answer: { status: number; json: Record<string, unknown> };
      try {
        answer = await googleJson(tokenUri, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) },
          body,
          ca: options.ca,
          signal: options.signal,
          timeoutMs: 15_000,
        });
      } catch (error) {
        throw new ConfigError(`FCM: could not reach the token endpoint ${tokenUri}: ${(error as Error).message}`, { cause: error });
      }
      const { status, json } = answer;
      if (status !== 200 || typeof json.access_token !== 'string') {
        const reason = [json.error, json.error_description].filter(Boolean).join(': ') || `HTTP ${status}`;
        throw new ConfigError(`FCM: the token endpoint rejected the service account ${account.client_email} (${reason}); check the key file or create a new key`);
      }
      const token = { access_token: json.access_token, expires_in: Number(json.expires_in ?? 3600) };
      issued = { token, until: Date.now() + (token.expires_in - reuseMarginSeconds) * 1000 };
      return token;
    },
  };
}

function isHttpsUrl(value: unknown): boolean {
  try {
    return new URL(String(value)).protocol === 'https:';
  } catch {
    return false;
  }
}

function signJwt(claims: Record<string, unknown>, privateKey: string): string {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const unsigned = `${encode({ alg: 'RS256', typ: 'JWT' })}.${encode(claims)}`;
  let signature: string;
  try {
    signature = createSign('RSA-SHA256').update(unsigned).sign(privateKey, 'base64url');
  } catch {
    throw new ConfigError('FCM: the service account private_key is not a valid RSA private key');
  }
  return `${unsigned}.${signature}`;
}

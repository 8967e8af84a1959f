// The /demo page: sign in (authorization code + PKCE + DPoP with dpop_jkt) against the keybound
// authorization server, call the DPoP-protected API, and replay the access token without the key
// to show the refusal. The key is a non-extractable CryptoKey kept in IndexedDB by @keybound/client.
// Bundled by scripts/bundle-demo.mjs at build time; no inline script (the page's CSP forbids it).
import {
  createDpopFetch,
  type DpopKey,
  DpopSession,
  finishLogin,
  generateDpopKey,
  isKeyboundError,
  loadOrCreateBrowserKey,
  OAuthClient,
  startLogin,
  type TokenSet,
} from '@keybound/client';

interface DemoConfig {
  issuer: string;
  clientId: string;
  redirectUri: string;
  api: string;
  username: string;
}

const TOKENS_KEY = 'keybound.demo.tokens';

function $(id: string): HTMLElement {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`#${id} is missing from the page`);
  return element;
}

function button(id: string): HTMLButtonElement {
  return $(id) as HTMLButtonElement;
}

function setStatus(text: string, error = false): void {
  const status = $('status');
  status.textContent = text;
  status.classList.toggle('error', error);
}

function describeError(e: unknown): string {
  if (isKeyboundError(e)) return `${e.code}: ${e.message}`;
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  text?: string,
  className?: string,
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className !== undefined) node.className = className;
  return node;
}

/** The claims of a JWT, for display only (the API verifies the token; the page only shows it). */
function claimsOf(jwt: string): Record<string, unknown> {
  try {
    const part = jwt.split('.')[1] ?? '';
    const bytes = Uint8Array.from(atob(part.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
  } catch {
    return {};
  }
}

function short(value: string, keep = 16): string {
  return value.length > keep ? `${value.slice(0, keep)}…` : value;
}

/** A card showing one HTTP exchange: verdict, reason code, challenge, body. */
async function responseCard(title: string, response: Response, expectRefusal: boolean): Promise<HTMLElement> {
  const text = await response.text();
  let body = text;
  try {
    body = JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    // not JSON: shown as it is
  }
  const accepted = response.ok;
  const code = response.headers.get('keybound-code');
  const challenge = response.headers.get('www-authenticate');
  const card = el('div', undefined, `result ${accepted ? 'ok' : 'refused'}`);
  card.dataset.status = String(response.status);
  if (code !== null) card.dataset.code = code;
  card.append(el('h3', title));
  const verdict = accepted
    ? `${response.status} accepted${expectRefusal ? ' (this should not happen!)' : ''}`
    : `${response.status} refused${expectRefusal ? ': the token is useless without the key' : ''}`;
  card.append(el('p', verdict, 'verdict'));
  const facts = el('dl');
  if (code !== null) facts.append(el('dt', 'reason code'), el('dd', code, 'mono code'));
  if (challenge !== null) facts.append(el('dt', 'WWW-Authenticate'), el('dd', challenge, 'mono challenge'));
  if (facts.childElementCount > 0) card.append(facts);
  card.append(el('pre', body));
  return card;
}

async function main(): Promise<void> {
  const config = (await (await fetch('config.json', { cache: 'no-store' })).json()) as DemoConfig;
  const issuerOrigin = new URL(config.issuer).origin;
  if (location.origin !== issuerOrigin) {
    // the redirect URI, the login cookie and this page's storage belong to the configured origin
    setStatus(`Open this page at ${config.redirectUri}: the server is configured for that address.`, true);
    return;
  }
  const apiOrigin = new URL(config.api).origin;
  $('api-url').textContent = `GET ${new URL(config.api).pathname}`;
  button('login').textContent = `Sign in as ${config.username}`;

  const { key, persisted, storageError } = await loadOrCreateBrowserKey({ fallback: 'memory' });
  showKey(key, persisted, storageError === undefined ? undefined : describeError(storageError));

  const saved = sessionStorage.getItem(TOKENS_KEY);
  const client = await OAuthClient.discover(config.issuer, {
    clientId: config.clientId,
    dpopKey: key,
    protectedOrigins: [apiOrigin],
    ...(saved === null ? {} : { tokens: JSON.parse(saved) as TokenSet }),
    onTokens: (tokens) => {
      if (tokens === undefined) sessionStorage.removeItem(TOKENS_KEY);
      else sessionStorage.setItem(TOKENS_KEY, JSON.stringify(tokens));
    },
  });

  const render = () => showSession(client, key);
  try {
    const tokens = await finishLogin(client);
    if (tokens !== undefined)
      setStatus('Signed in: the code was exchanged with a proof from this browser’s key.');
  } catch (e) {
    setStatus(`Sign-in failed: ${describeError(e)}`, true);
  } finally {
    // the code and state must not stay in the address bar (or in history)
    if (location.search !== '') history.replaceState(null, '', location.pathname);
  }
  render();
  if ($('status').textContent === 'Loading…') setStatus('Ready.');

  button('login').addEventListener('click', () => {
    setStatus('Going to the authorization server…');
    startLogin(client, { redirectUri: config.redirectUri }).catch((e) =>
      setStatus(`Could not start the sign-in: ${describeError(e)}`, true),
    );
  });
  button('logout').addEventListener('click', () => {
    client.forget();
    $('api-result').hidden = true;
    $('replay-result').replaceChildren();
    render();
    setStatus('Tokens forgotten (the key stays in IndexedDB).');
  });
  button('call-api').addEventListener('click', async () => {
    const result = $('api-result');
    try {
      const response = await client.fetch(config.api);
      result.replaceWith(
        Object.assign(
          await responseCard('With the token and a proof from this browser’s key', response, false),
          {
            id: 'api-result',
          },
        ),
      );
      setStatus(
        response.ok ? 'The API accepted the DPoP-bound token.' : `The API answered ${response.status}.`,
      );
    } catch (e) {
      setStatus(`The API call failed: ${describeError(e)}`, true);
    }
  });
  button('replay').addEventListener('click', async () => {
    const token = client.tokens?.accessToken;
    if (token === undefined) return;
    const results = $('replay-result');
    results.replaceChildren();
    try {
      // 1: the copied token alone, as a bearer token
      const asBearer = await fetch(config.api, { headers: { authorization: `Bearer ${token}` } });
      const bearerCard = await responseCard('Sent as a Bearer token, without a proof', asBearer, true);
      bearerCard.id = 'replay-bearer';
      // 2: the copied token with a proof the attacker can make: signed by a key of its own
      const attackerKey = await generateDpopKey('ES256');
      const attackerFetch = createDpopFetch({
        session: new DpopSession({ key: attackerKey }),
        origins: [apiOrigin],
        getAccessToken: () => token,
      });
      const withOwnKey = await attackerFetch(config.api);
      const ownKeyCard = await responseCard(
        `Sent with a proof from the attacker’s own key (jkt ${short(attackerKey.jkt)})`,
        withOwnKey,
        true,
      );
      ownKeyCard.id = 'replay-own-key';
      results.append(bearerCard, ownKeyCard);
      const refused = !asBearer.ok && !withOwnKey.ok;
      setStatus(
        refused ? 'Both replays were refused.' : 'A replay was accepted: check the API policy.',
        !refused,
      );
    } catch (e) {
      setStatus(`The replay failed to run: ${describeError(e)}`, true);
    }
  });
}

function showKey(key: DpopKey, persisted: boolean, storageProblem: string | undefined): void {
  const privateKey = key.privateKey as CryptoKey;
  $('key-alg').textContent = key.alg;
  $('key-jkt').textContent = key.jkt;
  $('key-extractable').textContent = String(privateKey.extractable);
  $('key-stored').textContent = persisted
    ? 'IndexedDB, as a CryptoKey object (the key material never reaches JavaScript)'
    : `memory only, lost on reload (IndexedDB unavailable: ${storageProblem ?? 'unknown'})`;
  const exportButton = button('export-key');
  exportButton.disabled = false;
  exportButton.addEventListener('click', async () => {
    const result = $('key-result');
    result.hidden = false;
    try {
      await crypto.subtle.exportKey('jwk', privateKey);
      result.className = 'result ok';
      result.dataset.outcome = 'exported';
      result.textContent = 'The key was exported: it is extractable (this should not happen).';
    } catch (e) {
      result.className = 'result refused';
      result.dataset.outcome = e instanceof Error ? e.name : 'refused';
      result.textContent = `crypto.subtle.exportKey refused: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`;
    }
  });
}

function showSession(client: OAuthClient, key: DpopKey): void {
  const tokens = client.tokens;
  const signedIn = tokens !== undefined;
  button('login').disabled = signedIn;
  button('logout').hidden = !signedIn;
  button('call-api').disabled = !signedIn;
  button('replay').disabled = !signedIn;
  const textarea = $('token') as HTMLTextAreaElement;
  textarea.value = tokens?.accessToken ?? '';
  if (!signedIn) {
    $('session').textContent = 'Not signed in.';
    return;
  }
  const claims = claimsOf(tokens.accessToken);
  const jkt = (claims.cnf as { jkt?: string } | undefined)?.jkt;
  const expires =
    tokens.expiresAt === undefined ? '' : `, expires ${new Date(tokens.expiresAt).toLocaleTimeString()}`;
  $('session').textContent =
    `Signed in as ${String(claims.sub ?? '?')}: token_type ${tokens.tokenType}${expires}; ` +
    `cnf.jkt ${jkt === undefined ? 'missing' : short(jkt)} ${jkt === key.jkt ? '= this browser’s key' : '≠ this browser’s key'}.`;
}

main().catch((e) => setStatus(`The demo could not start: ${describeError(e)}`, true));

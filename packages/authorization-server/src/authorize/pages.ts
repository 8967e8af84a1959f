// The built-in pages: a minimal login form over the configured user list (for demos and tests)
// and an error page. Every value is escaped; the pages load nothing (CSP default-src 'none').
import { escapeHtml } from '../http/respond.js';

const STYLE =
  'body{font:16px system-ui,sans-serif;max-width:22rem;margin:4rem auto;padding:0 1rem;color:#222}' +
  'label{display:block;margin:.8rem 0 .2rem}input{width:100%;padding:.4rem;box-sizing:border-box}' +
  'button{margin-top:1rem;padding:.5rem 1rem}.error{color:#a00}';

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body>${body}</body></html>`;
}

export function loginPage(options: {
  action: string;
  interaction: string;
  csrf: string;
  clientName: string;
  scope: string;
  error?: string;
  username?: string;
}): string {
  const error = options.error ? `<p class="error" role="alert">${escapeHtml(options.error)}</p>` : '';
  const scope = options.scope ? `<p>It asks for: <b>${escapeHtml(options.scope)}</b></p>` : '';
  return page(
    'Sign in',
    `<h1>Sign in</h1><p><b>${escapeHtml(options.clientName)}</b> wants to access your account.</p>${scope}${error}
<form method="post" action="${escapeHtml(options.action)}">
<input type="hidden" name="interaction" value="${escapeHtml(options.interaction)}">
<input type="hidden" name="csrf" value="${escapeHtml(options.csrf)}">
<label for="username">Username</label><input id="username" name="username" autocomplete="username" required value="${escapeHtml(options.username ?? '')}">
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button></form>`,
  );
}

export function errorPage(message: string): string {
  return page('Error', `<h1>Something went wrong</h1><p class="error">${escapeHtml(message)}</p>`);
}

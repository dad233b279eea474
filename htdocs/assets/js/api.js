// The site's only way to the JSON API. Identity is httpd's (the login form's
// session cookie, HttpOnly): this module never sees a password or a token.
// It adds the acting account the user picked and the header the server
// demands on every change (see conf/b2bportal-site.conf), and turns errors
// into ApiError with the API's code and message.

export const API_BASE = '/portal/api/v1';
const ACTING_KEY = 'b2b.acting';

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message || `The server answered ${status}.`);
    this.status = status;
    this.code = code || 'http_' + status;
    this.details = details || null;
  }
}

export function actingAccount() {
  try { return localStorage.getItem(ACTING_KEY) || ''; } catch { return ''; }
}

export function setActingAccount(code) {
  try {
    if (code) localStorage.setItem(ACTING_KEY, code);
    else localStorage.removeItem(ACTING_KEY);
  } catch { /* private mode: the default account is used */ }
}

export function loginUrl() {
  const here = location.pathname + location.search;
  return '/login.html?next=' + encodeURIComponent(here);
}

// api('GET', '/orders?page=2') -> parsed JSON. Options:
//   body: an object sent as JSON; text + type: a raw body (CSV, pasted list)
//   headers: extra headers; account: false to send no X-B2B-Account
export async function api(method, path, opts = {}) {
  const headers = { Accept: 'application/json', 'X-Requested-With': 'b2bportal', ...(opts.headers || {}) };
  const acting = opts.account === false ? '' : (opts.account || actingAccount());
  if (acting) headers['X-B2B-Account'] = acting;
  let body;
  if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.body);
  } else if (opts.text !== undefined) {
    headers['Content-Type'] = opts.type || 'text/plain; charset=utf-8';
    body = opts.text;
  }
  let res;
  try {
    res = await fetch(API_BASE + path, { method, headers, body, credentials: 'same-origin', cache: 'no-store' });
  } catch (e) {
    throw new ApiError(0, 'network_error', 'The portal cannot be reached. Check the connection and try again.');
  }
  if (res.status === 401) {
    // The session ended (expired or logged out elsewhere): log in again and come back.
    location.assign(loginUrl());
    throw new ApiError(401, 'unauthorized', 'Your session has ended; please log in again.');
  }
  let data = null;
  const type = res.headers.get('Content-Type') || '';
  if (type.includes('application/json')) {
    try { data = await res.json(); } catch { data = null; }
  }
  if (!res.ok) {
    const e = data && data.error ? data.error : {};
    throw new ApiError(res.status, e.code, e.message || res.statusText, e.details || data);
  }
  if (data && typeof data === 'object') {
    Object.defineProperty(data, '_headers', { value: res.headers, enumerable: false });
  }
  return data;
}

// A new Idempotency-Key for one checkout attempt.
export function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

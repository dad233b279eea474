// The login page: says why the user is here, and sends them back to the
// page they asked for after logging in. httpd does the logging in.
import { notify } from '../ui.js';

const p = new URLSearchParams(location.search);
// httpd sends the page asked for as next (the path) and nq (its query,
// base64, read raw: URLSearchParams would turn '+' into a space).
let next = p.get('next') || '';
const nq = (location.search.match(/[?&]nq=([A-Za-z0-9+/=]+)/) || [])[1];
if (next && nq) {
  try { next += '?' + atob(nq); } catch { /* not base64: drop it */ }
}
// Only a path on this site (no "//host", no scheme): httpd redirects there.
const safe = /^\/(?!\/)[^\s\\]*$/.test(next) && !next.startsWith('/portal/') ? next : '/';
document.getElementById('httpd_location').value = safe;
const form = document.getElementById('login-form');
if (safe !== '/') form.action = '/portal/login?next=' + encodeURIComponent(safe);

if (p.has('failed')) {
  notify('login-message', 'error', 'The user name or password is not right. Please try again.');
  document.getElementById('username').value = p.get('user') || '';
} else if (p.has('out')) {
  notify('login-message', 'ok', 'You are logged out.');
} else if (next) {
  notify('login-message', 'info', 'Please log in to continue.');
}
try { if (p.has('out')) localStorage.removeItem('b2b.acting'); } catch { /* ignore */ }

// The frame every page shares: who is logged in (GET /me), the acting
// account and its switcher, the navigation for the user's roles, and the
// logout button. Each page calls boot() first and gets the context back.
import { api, actingAccount, setActingAccount, ApiError } from './api.js';
import { el, fill, $, clear } from './ui.js';

const BUYER_NAV = [
  ['catalog', '/', 'Catalog'],
  ['quick-order', '/quick-order.html', 'Quick order'],
  ['cart', '/cart.html', 'Cart'],
  ['orders', '/orders.html', 'Orders'],
  ['approvals', '/approvals.html', 'Approvals', (c) => c.canApprove],
  ['invoices', '/invoices.html', 'Invoices'],
];
const ADMIN_NAV = [
  ['admin-rules', '/admin/price-rules.html', 'Price rules'],
  ['admin-queue', '/admin/queue.html', 'Order queue'],
  ['admin-status', '/admin/status.html', 'Status'],
];

async function loadMe() {
  try {
    return await api('GET', '/me');
  } catch (e) {
    // A remembered acting account this user may not use (another user
    // logged in on this browser): forget it and ask again.
    if (e instanceof ApiError && (e.status === 403 || e.status === 404) && actingAccount()) {
      setActingAccount('');
      return api('GET', '/me');
    }
    throw e;
  }
}

function roleSet(me) {
  const roles = new Set(me.roles || []);
  for (const a of me.accounts || []) for (const r of a.roles || []) roles.add(r);
  return roles;
}

function header(ctx, page) {
  const { me } = ctx;
  const items = (ctx.isAdmin && !ctx.acting ? ADMIN_NAV : BUYER_NAV.concat(ctx.isAdmin ? ADMIN_NAV : []))
    .filter(([, , , cond]) => !cond || cond(ctx));
  const nav = el('nav', { 'aria-label': 'Main' }, el('ul', {}, items.map(([id, href, label]) =>
    el('li', {}, el('a', { href, 'aria-current': id === page ? 'page' : null, id: 'nav-' + id },
      label, id === 'cart' ? el('span', { class: 'badge-count hidden', id: 'cart-count', 'aria-label': 'lines in cart' }) : null)))));

  const who = el('div', { class: 'who' });
  if ((me.accounts || []).length > 1) {
    const sel = el('select', { id: 'account-switcher' }, me.accounts.map((a) =>
      el('option', { value: a.code, selected: ctx.acting && a.code === ctx.acting.code }, `${a.name} (${a.code})`)));
    sel.addEventListener('change', () => {
      setActingAccount(sel.value);
      // Every price, cart and order on the page depends on it: start over.
      location.reload();
    });
    who.append(el('label', { for: 'account-switcher' }, 'Acting for'), sel);
  } else if (ctx.acting) {
    who.append(el('span', { id: 'acting-account', title: 'The account you are ordering for' },
      `${ctx.acting.name} (${ctx.acting.code})`));
  }
  who.append(el('span', { id: 'current-user' }, me.user.display_name || me.user.username));
  const out = el('form', { method: 'post', action: '/portal/logout', class: 'logout' },
    el('button', { type: 'submit', id: 'logout', onclick: () => setActingAccount('') }, 'Log out'));
  who.append(out);

  return el('header', { class: 'site-header' },
    el('div', { class: 'bar' },
      el('a', { class: 'brand', href: ctx.isAdmin && !ctx.acting ? '/admin/status.html' : '/' }, 'B2B Portal ', el('span', {}, '· purchasing')),
      who),
    el('div', { class: 'navbar' }, nav));
}

export async function refreshCartCount() {
  const badge = $('#cart-count');
  if (!badge) return;
  try {
    const cart = await api('GET', '/cart');
    const n = cart.line_count ?? (cart.lines || []).length;
    badge.textContent = n;
    badge.classList.toggle('hidden', !n);
  } catch { badge.classList.add('hidden'); }
}

// Thrown by boot() when the page has already said why it cannot go on.
export class Stop extends Error {}

// The last word of a page's main(): shows what went wrong in the page.
export function fail(e) {
  if (e instanceof Stop) return;
  console.error(e);
  const main = $('main');
  if (main) main.prepend(el('p', { class: 'notice error', role: 'alert' }, 'This page could not be loaded: ' + (e && e.message ? e.message : e)));
  document.body.dataset.ready = 'error';
}

// opts.admin: the page is for portal operators; opts.account: it needs an
// acting account (a buyer page).
export async function boot(page, opts = {}) {
  const me = await loadMe();
  const roles = roleSet(me);
  const ctx = {
    me,
    acting: me.acting_account || null,
    roles,
    isAdmin: roles.has('portal_admin'),
    canApprove: roles.has('approver') || roles.has('account_admin'),
    actingCanApprove: !!(me.acting_account && (me.acting_account.roles || []).some((r) => r === 'approver' || r === 'account_admin')),
  };
  if (ctx.acting) setActingAccount(ctx.acting.code);
  const slot = $('#site-header');
  if (slot) slot.replaceWith(header(ctx, page));
  const main = $('main');
  if (opts.admin && !ctx.isAdmin) {
    fill(main, el('h1', {}, 'Not available'),
      el('p', { class: 'notice error', role: 'alert' }, 'This page is for portal operators. Your user has no access to it.'));
    throw new Stop('not an operator');
  }
  if (opts.account && !ctx.acting && ctx.isAdmin && opts.home) {
    location.replace('/admin/status.html');
    throw new Stop('operator home');
  }
  if (opts.account && !ctx.acting) {
    fill(main, el('h1', {}, 'No account'),
      el('p', { class: 'notice info' }, 'Your user does not buy for an account. ',
        ctx.isAdmin ? el('a', { href: '/admin/status.html' }, 'Go to the operator pages.') : null));
    throw new Stop('no acting account');
  }
  if (ctx.acting) refreshCartCount();
  document.body.dataset.ready = 'false';
  return ctx;
}

// Pages call this when their first data is on screen (tests wait for it).
export function ready() { document.body.dataset.ready = 'true'; }

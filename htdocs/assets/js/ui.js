// Small DOM and formatting helpers shared by every page. Text always goes
// in through textContent (never innerHTML with data), so nothing the API
// returns can become markup.

export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on') && typeof v === 'function') e.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

export function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }
// Replaces node's children, skipping null/false (DOM append would print "null").
export function fill(node, ...children) {
  clear(node);
  for (const c of children.flat(Infinity)) if (c !== null && c !== undefined && c !== false) node.append(c);
  return node;
}

// Money is {amount: "1234.50", currency: "USD"}: the amount is formatted
// from its digits (never through a float): 1,234.50 USD.
export function money(m) {
  if (!m || typeof m !== 'object' || m.amount === undefined || m.amount === null) return '—';
  const s = String(m.amount);
  const neg = s.startsWith('-');
  const [int, frac] = (neg ? s.slice(1) : s).split('.');
  const grouped = int.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return (neg ? '−' : '') + grouped + (frac !== undefined ? '.' + frac : '') + ' ' + (m.currency || '');
}

export function when(ts) {
  if (!ts) return '—';
  const d = new Date(ts);
  if (isNaN(d)) return String(ts);
  return d.toLocaleString('en-GB', { year: 'numeric', month: 'short', day: '2-digit', hour: '2-digit', minute: '2-digit' });
}

// An invoice period [start, end) as the days it covers: 01 Dec 2026 – 31 Dec 2026.
export function period(p) {
  if (!p || !p.start) return '—';
  const day = (d) => d.toLocaleDateString('en-GB', { year: 'numeric', month: 'short', day: '2-digit', timeZone: 'UTC' });
  const start = new Date(p.start), end = new Date(new Date(p.end).getTime() - 1);
  if (isNaN(start) || isNaN(end)) return `${p.start} – ${p.end}`;
  return `${day(start)} – ${day(end)}`;
}

const STATUS_TONE = {
  pending_approval: 'warn', queued: 'neutral', submitted: 'neutral', confirmed: 'ok',
  backordered: 'warn', shipped: 'ok', invoiced: 'ok', rejected: 'bad', cancelled: 'bad',
  failed: 'bad', dead: 'bad', pending: 'neutral', in_flight: 'neutral', done: 'ok',
};
export function statusLabel(s) { return String(s || '').replace(/_/g, ' '); }
export function badge(status) {
  return el('span', { class: 'badge ' + (STATUS_TONE[status] || 'neutral'), dataset: { status } }, statusLabel(status));
}

// A live region for messages: role=status for news, role=alert for errors.
export function notify(target, kind, ...content) {
  const box = typeof target === 'string' ? document.getElementById(target) : target;
  if (!box) return;
  clear(box);
  box.className = 'notice ' + kind;
  box.setAttribute('role', kind === 'error' ? 'alert' : 'status');
  box.append(...content);
  box.hidden = false;
}
export function clearNotice(target) {
  const box = typeof target === 'string' ? document.getElementById(target) : target;
  if (box) { clear(box); box.hidden = true; }
}

export function errorText(e) {
  if (!e) return 'Something went wrong.';
  return e.message || String(e);
}

export function params() { return new URLSearchParams(location.search); }

// Replaces the URL's query without a reload (so reload and back keep state).
export function setParams(obj) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(obj)) if (v !== undefined && v !== null && v !== '') p.set(k, v);
  const qs = p.toString();
  history.replaceState(null, '', location.pathname + (qs ? '?' + qs : ''));
}

export function table(headers, rows, opts = {}) {
  const thead = el('thead', {}, el('tr', {}, headers.map((h) => {
    const [text, cls] = Array.isArray(h) ? h : [h, ''];
    return el('th', { scope: 'col', class: cls || null }, text);
  })));
  const t = el('table', { class: opts.class || null }, opts.caption ? el('caption', {}, opts.caption) : null, thead, el('tbody', {}, rows));
  if (opts.foot) t.append(el('tfoot', {}, opts.foot));
  return el('div', { class: 'table-wrap' }, t);
}

export function pager(info, go) {
  const page = info.page || 1, per = info.per_page || 50, total = info.total || 0;
  const pages = Math.max(1, Math.ceil(total / per));
  const nav = el('nav', { class: 'pager', 'aria-label': 'Pages' },
    el('button', { type: 'button', class: 'secondary small', disabled: page <= 1, onclick: () => go(page - 1) }, '‹ Previous'),
    el('span', { 'aria-live': 'polite' }, `Page ${page} of ${pages} · ${total.toLocaleString('en-US')} in all`),
    el('button', { type: 'button', class: 'secondary small', disabled: page >= pages, onclick: () => go(page + 1) }, 'Next ›'));
  return nav;
}

// availability {available, as_of} as words: "12 available", "out of stock".
export function availabilityText(a) {
  if (!a) return '—';
  const n = a.available ?? a.on_hand;
  if (n === undefined || n === null) return 'unknown';
  if (n > 0) return `${n} available`;
  return a.backorder || a.allow_backorder ? 'on backorder' : 'out of stock';
}

// Orders the user may see for the acting account (and below it, for
// approvers and account admins), newest first, filtered by status.
import { api } from '../api.js';
import { boot, ready, fail } from '../layout.js';
import { el, $, clear, money, when, badge, notify, errorText, params, setParams, table, pager } from '../ui.js';

let state = { status: '', page: 1 };

async function load() {
  const box = $('#orders');
  const qs = new URLSearchParams({ page: state.page, per_page: 25 });
  if (state.status) qs.set('status', state.status);
  setParams({ status: state.status, page: state.page > 1 ? state.page : '' });
  try {
    const data = await api('GET', '/orders?' + qs);
    clear(box);
    const items = data.items || [];
    if (!items.length) {
      box.append(el('p', { class: 'notice info' }, state.status ? 'No orders with that status.' : 'No orders yet.'));
      return;
    }
    box.append(table(['Order', 'PO number', 'Account', 'Placed by', 'Status', ['Lines', 'num'], ['Total', 'num'], 'Placed'],
      items.map((o) => el('tr', { dataset: { id: o.id, status: o.status } },
        el('td', {}, el('a', { href: '/order.html?id=' + o.id }, '#' + o.id)),
        el('td', {}, o.po_number),
        el('td', { class: 'mono' }, o.account),
        el('td', {}, o.placed_by),
        el('td', {}, badge(o.status)),
        el('td', { class: 'num' }, o.line_count ?? ''),
        el('td', { class: 'num price' }, money(o.totals && o.totals.gross)),
        el('td', { class: 'nowrap' }, when(o.created_at)))), { class: 'orders' }),
      pager(data, (p) => { state.page = p; load(); }));
  } catch (e) {
    clear(box);
    notify('orders-message', 'error', 'Orders could not be loaded: ' + errorText(e));
  }
}

async function main() {
  await boot('orders', { account: true });
  const p = params();
  state = { status: p.get('status') || '', page: Math.max(1, parseInt(p.get('page') || '1', 10) || 1) };
  $('#status').value = state.status;
  $('#filter-form').addEventListener('submit', (ev) => { ev.preventDefault(); state = { status: $('#status').value, page: 1 }; load(); });
  await load();
  ready();
}

main().catch(fail);

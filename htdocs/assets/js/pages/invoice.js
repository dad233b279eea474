// One invoice and the orders it consolidates.
import { api } from '../api.js';
import { boot, ready, fail } from '../layout.js';
import { el, fill, $, clear, money, when, badge, notify, errorText, params, table, period } from '../ui.js';

async function main() {
  await boot('invoices', { account: true });
  const id = params().get('id') || '';
  const box = $('#invoice');
  let inv;
  try {
    if (!/^\d+$/.test(id)) throw Object.assign(new Error('No invoice was named.'), { status: 404 });
    inv = await api('GET', '/invoices/' + id);
  } catch (e) {
    clear(box);
    notify('invoice-message', 'error', e.status === 404 ? 'This invoice does not exist or is not visible to you.' : errorText(e));
    return ready();
  }
  $('#crumb').textContent = inv.number;
  const t = inv.totals || {};
  fill(box, 
    el('h1', {}, 'Invoice ' + inv.number),
    el('div', { class: 'panel' }, el('dl', { class: 'kv' },
      el('dt', {}, 'Invoiced account'), el('dd', { class: 'mono' }, inv.account),
      el('dt', {}, 'Period'), el('dd', {}, period(inv.period)),
      el('dt', {}, 'Issued'), el('dd', {}, when(inv.issued_at)),
      el('dt', {}, 'Net'), el('dd', {}, money(t.net)),
      el('dt', {}, 'Tax'), el('dd', {}, money(t.tax)),
      el('dt', {}, 'Gross'), el('dd', { class: 'price' }, money(t.gross)))),
    el('h2', {}, 'Orders'),
    table(['Order', 'PO number', 'Account', 'Placed by', 'Ordered', 'Status', ['Net', 'num'], ['Tax', 'num'], ['Gross', 'num']],
      (inv.lines || []).map((l) => el('tr', {},
        el('td', {}, el('a', { href: '/order.html?id=' + l.order_id }, '#' + l.order_id)),
        el('td', {}, l.po_number), el('td', { class: 'mono' }, l.account), el('td', {}, l.placed_by),
        el('td', { class: 'nowrap' }, when(l.ordered_at)), el('td', {}, badge(l.status)),
        el('td', { class: 'num' }, money(l.net)), el('td', { class: 'num' }, money(l.tax)), el('td', { class: 'num' }, money(l.gross)))),
      { class: 'invoice-lines' }));
  ready();
}

main().catch(fail);

// Invoices, issued at the invoicing ancestor (e.g. ACME for its whole
// tree), consolidating the orders of its descendants.
import { api } from '../api.js';
import { boot, ready, fail } from '../layout.js';
import { el, $, clear, money, when, notify, errorText, table, pager } from '../ui.js';

async function load(page) {
  const box = $('#invoices');
  try {
    const data = await api('GET', '/invoices?page=' + page + '&per_page=25');
    clear(box);
    const items = data.items || [];
    if (!items.length) {
      box.append(el('p', { class: 'notice info' }, 'No invoices yet. Invoices are issued for the invoicing account of your company, covering the orders of every division below it.'));
      return;
    }
    box.append(table(['Invoice', 'Account', 'Period', ['Orders', 'num'], ['Net', 'num'], ['Tax', 'num'], ['Gross', 'num'], 'Issued'],
      items.map((i) => el('tr', { dataset: { id: i.id } },
        el('td', {}, el('a', { href: '/invoice.html?id=' + i.id }, i.number)),
        el('td', { class: 'mono' }, i.account),
        el('td', { class: 'nowrap' }, i.period ? `${when(i.period.start)} – ${when(i.period.end)}` : ''),
        el('td', { class: 'num' }, i.order_count ?? ''),
        el('td', { class: 'num' }, money(i.totals && i.totals.net)),
        el('td', { class: 'num' }, money(i.totals && i.totals.tax)),
        el('td', { class: 'num price' }, money(i.totals && i.totals.gross)),
        el('td', { class: 'nowrap' }, when(i.issued_at)))), { class: 'invoices' }),
      pager(data, load));
  } catch (e) {
    clear(box);
    notify('invoices-message', 'error', 'Invoices could not be loaded: ' + errorText(e));
  }
}

async function main() {
  await boot('invoices', { account: true });
  await load(1);
  ready();
}

main().catch(fail);

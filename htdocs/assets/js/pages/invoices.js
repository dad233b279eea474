// Invoices, issued at the invoicing ancestor (e.g. ACME for its whole
// tree), consolidating the orders of its descendants.
import { api } from '../api.js';
import { boot, ready, fail } from '../layout.js';
import { el, $, clear, money, when, notify, errorText, table, pager, period } from '../ui.js';

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
        el('td', { class: 'nowrap' }, period(i.period)),
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
  const ctx = await boot('invoices', { account: true });
  // Account admins of an invoicing account issue its invoices here.
  if ((ctx.acting.roles || []).includes('account_admin')) {
    const form = $('#run-form');
    const now = new Date();
    $('#period').value = `${now.getUTCFullYear()}-${String(now.getUTCMonth() + 1).padStart(2, '0')}`;
    $('#period').max = $('#period').value;
    form.hidden = false;
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const button = $('#run-invoices');
      button.disabled = true;
      try {
        const res = await api('POST', '/invoices/run', { body: { account: ctx.acting.code, period: $('#period').value } });
        const n = (res.invoices || []).length;
        notify('invoices-message', 'ok', n ? `${n} invoice(s) issued for ${res.period}.` : `Nothing to invoice for ${res.period}: every order is already on an invoice.`);
        await load(1);
      } catch (e) {
        notify('invoices-message', 'error', 'No invoices were issued: ' + errorText(e));
      } finally { button.disabled = false; }
    });
  }
  await load(1);
  ready();
}

main().catch(fail);

// Quick order: a pasted list or a CSV file goes to POST /cart/import as is
// (text/plain or text/csv); the server parses it, adds what it can and says
// why each other line was refused.
import { api } from '../api.js';
import { boot, ready, fail, refreshCartCount } from '../layout.js';
import { el, $, clear, notify, errorText, table } from '../ui.js';

const REASONS = {
  unknown_sku: 'No such product',
  bad_quantity: 'Quantity is not a whole number from 1 to 1,000,000',
  bad_format: 'Not “SKU,quantity”',
  not_available: 'Not available to your account',
  no_price: 'No price for your account',
  cart_full: 'The cart is full',
  duplicate_sku: 'Listed twice',
};

function showResult(res) {
  const box = clear($('#import-result'));
  const added = res.added || [];
  const rejected = res.rejected || [];
  const msg = `${res.accepted ?? added.length} line(s) added to the cart` + (rejected.length ? `, ${rejected.length} rejected.` : '.');
  notify('import-message', rejected.length ? 'warn' : 'ok', msg, ' ', el('a', { href: '/cart.html' }, 'View cart'));
  if (rejected.length) {
    box.append(el('h2', { id: 'rejected-heading' }, 'Rejected lines'),
      table(['Line', 'As sent', 'Reason'], rejected.map((r) => el('tr', { dataset: { line: r.line, reason: r.reason } },
        el('td', { class: 'num' }, r.line),
        el('td', { class: 'mono' }, r.input ?? r.sku ?? ''),
        el('td', {}, el('strong', {}, REASONS[r.reason] || r.reason), r.message ? el('div', { class: 'subtle' }, r.message) : null))),
      { class: 'rejected' }));
  }
  if (added.length) {
    box.append(el('h2', {}, 'Added'),
      table(['Line', 'SKU', ['Qty', 'num']], added.map((a) => el('tr', {}, el('td', { class: 'num' }, a.line), el('td', { class: 'mono' }, a.sku), el('td', { class: 'num' }, a.qty))), { class: 'added' }));
  }
  refreshCartCount();
}

async function send(text, type, button) {
  button.disabled = true;
  try {
    showResult(await api('POST', '/cart/import', { text, type }));
  } catch (e) {
    clear($('#import-result'));
    notify('import-message', 'error', 'Nothing was imported: ' + errorText(e));
  } finally { button.disabled = false; }
}

async function main() {
  await boot('quick-order', { account: true });
  $('#paste-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const text = $('#paste').value;
    if (!text.trim()) { notify('import-message', 'error', 'Paste at least one SKU.'); $('#paste').focus(); return; }
    send(text, 'text/plain; charset=utf-8', $('#paste-submit'));
  });
  $('#csv-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = $('#csv-file').files[0];
    if (!f) { notify('import-message', 'error', 'Choose a CSV file first.'); $('#csv-file').focus(); return; }
    if (f.size > 1024 * 1024) { notify('import-message', 'error', 'The file is larger than 1 MB.'); return; }
    send(await f.text(), 'text/csv; charset=utf-8', $('#csv-submit'));
  });
  ready();
}

main().catch(fail);

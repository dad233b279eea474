// Checkout: the cart as it will be ordered, a PO number, an optional promo
// code and note. One Idempotency-Key per checkout attempt, kept across a
// retry (a lost answer, a double click, a reload), so the order is placed
// once whatever happens to the network.
import { api, newKey } from '../api.js';
import { boot, ready, fail } from '../layout.js';
import { el, $, clear, notify, errorText, money } from '../ui.js';
import { cartTable } from '../cart-table.js';

const KEY = 'b2b.checkout.key';

function attemptKey(account) {
  let k = null;
  try { k = JSON.parse(sessionStorage.getItem(KEY) || 'null'); } catch { k = null; }
  if (!k || k.account !== account) {
    k = { account, key: newKey() };
    try { sessionStorage.setItem(KEY, JSON.stringify(k)); } catch { /* one attempt only */ }
  }
  return k.key;
}
function forgetKey() { try { sessionStorage.removeItem(KEY); } catch { /* ignore */ } }

function explainError(e) {
  const d = e.details || {};
  switch (e.code) {
    case 'insufficient_stock': {
      const short = Array.isArray(d) ? d : (d.lines || []);
      return short.length
        ? ['Not enough stock for ', short.map((l) => `${l.sku} (${l.requested} asked, ${l.available} available)`).join(', '), '. Change the quantity in the ', el('a', { href: '/cart.html' }, 'cart'), '.']
        : [e.message];
    }
    case 'credit_limit_exceeded':
      return [`The order (${money(d.order_total)}) is over the credit available at ${d.credit_account || 'your company'} (${money(d.available)}).`];
    case 'cart_empty':
      return ['The cart is empty. ', el('a', { href: '/' }, 'Back to the catalog')];
    default:
      return [e.message];
  }
}

async function main() {
  const ctx = await boot('cart', { account: true });
  const cart = await api('GET', '/cart');
  const box = $('#summary');
  clear(box);
  if (!cart.lines || !cart.lines.length) {
    box.append(el('p', { class: 'notice info' }, 'Your cart is empty. ', el('a', { href: '/' }, 'Browse the catalog'), '.'));
    return ready();
  }
  box.append(el('p', { class: 'subtle' }, `Ordering for ${ctx.acting.name} (${ctx.acting.code}) in ${cart.totals ? cart.totals.gross.currency : ctx.acting.currency}.`),
    cartTable(cart, false));
  if (cart.lines.some((l) => l.price_changed)) {
    notify('checkout-message', 'warn', 'Some prices changed since the lines were added; the order uses the prices shown.');
  }
  const form = $('#checkout-form');
  form.hidden = false;
  const key = attemptKey(ctx.acting.code);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const po = $('#po').value.trim();
    if (!po) { notify('checkout-message', 'error', 'Enter your purchase order number.'); $('#po').focus(); return; }
    const body = { po_number: po };
    const promo = $('#promo').value.trim();
    const note = $('#note').value.trim();
    if (promo) body.promo_code = promo;
    if (note) body.note = note;
    const button = $('#place-order');
    button.disabled = true;
    button.textContent = 'Placing order…';
    try {
      const order = await api('POST', '/orders', { body, headers: { 'Idempotency-Key': attemptKey(ctx.acting.code) } });
      forgetKey();
      location.assign('/order.html?id=' + encodeURIComponent(order.id) + '&placed=1');
    } catch (e) {
      if (e.code === 'idempotency_key_reused') {
        // This key already placed an order with other details: a new attempt.
        forgetKey();
        attemptKey(ctx.acting.code);
      }
      notify('checkout-message', 'error', 'The order was not placed. ', ...explainError(e));
      button.disabled = false;
      button.textContent = 'Place order';
    }
  });
  form.dataset.key = key;
  ready();
}

main().catch(fail);

// The cart of the acting account for this user: quantity edits (qty 0
// removes), line removal, emptying, and the way to checkout. Prices are the
// pricing service's, re-priced on every read; a changed price is flagged.
import { api } from '../api.js';
import { boot, ready, fail, refreshCartCount } from '../layout.js';
import { el, $, clear, notify, errorText } from '../ui.js';
import { cartTable } from '../cart-table.js';

async function render() {
  const box = $('#cart');
  const cart = await api('GET', '/cart');
  clear(box);
  if (!cart.lines || !cart.lines.length) {
    box.append(el('p', { class: 'notice info', id: 'cart-empty' }, 'Your cart is empty. ',
      el('a', { href: '/' }, 'Browse the catalog'), ' or use ', el('a', { href: '/quick-order.html' }, 'quick order'), '.'));
    refreshCartCount();
    return;
  }
  const empty = el('button', { type: 'button', class: 'danger', id: 'empty-cart' }, 'Empty cart');
  empty.addEventListener('click', async () => {
    if (!confirm('Remove every line from the cart?')) return;
    try { await api('DELETE', '/cart'); notify('cart-message', 'ok', 'The cart is empty.'); await render(); } catch (e) { notify('cart-message', 'error', errorText(e)); }
  });
  box.append(
    el('p', { class: 'subtle' }, `${cart.line_count ?? cart.lines.length} lines for ${cart.account}` + (cart.max_lines ? ` (at most ${cart.max_lines})` : '') + '. Change a quantity and press Enter or leave the field; 0 removes the line.'),
    cartTable(cart, true, render),
    el('div', { class: 'actions' }, el('a', { class: 'button', href: '/checkout.html', id: 'to-checkout' }, 'Proceed to checkout'), empty));
  refreshCartCount();
}

async function main() {
  await boot('cart', { account: true });
  try { await render(); } catch (e) { notify('cart-message', 'error', 'The cart could not be loaded: ' + errorText(e)); }
  ready();
}

main().catch(fail);

// The cart's lines as a table, editable (cart page) or not (checkout).
import { api } from './api.js';
import { el, money, notify, errorText, table } from './ui.js';

export function cartTable(cart, editable, onChange) {
  const rows = (cart.lines || []).map((l) => {
    let qtyCell = el('td', { class: 'num' }, l.qty);
    if (editable) {
      const input = el('input', { type: 'number', min: '0', max: '1000000', value: l.qty, id: 'qty-' + l.sku,
        'aria-label': `Quantity of ${l.sku}`, dataset: { sku: l.sku } });
      const update = async () => {
        const n = parseInt(input.value, 10);
        if (!Number.isInteger(n) || n < 0) { notify('cart-message', 'error', `Enter a whole quantity for ${l.sku} (0 removes it).`); input.focus(); return; }
        if (n === l.qty) return;
        input.disabled = true;
        try {
          await api('PATCH', '/cart/lines/' + encodeURIComponent(l.sku), { body: { qty: n } });
          notify('cart-message', 'ok', n === 0 ? `${l.sku} removed.` : `${l.sku}: quantity ${n}.`);
          await onChange();
        } catch (e) {
          notify('cart-message', 'error', `${l.sku} was not changed: ${errorText(e)}`);
          input.disabled = false;
        }
      };
      input.addEventListener('change', update);
      input.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') { ev.preventDefault(); update(); } });
      const remove = el('button', { type: 'button', class: 'danger small', 'aria-label': `Remove ${l.sku}` }, 'Remove');
      remove.addEventListener('click', async () => {
        try {
          await api('DELETE', '/cart/lines/' + encodeURIComponent(l.sku));
          notify('cart-message', 'ok', `${l.sku} removed.`);
          await onChange();
        } catch (e) { notify('cart-message', 'error', `${l.sku} was not removed: ${errorText(e)}`); }
      });
      qtyCell = el('td', { class: 'num nowrap' }, input, ' ', remove);
    }
    const notes = [];
    if (l.price_changed) notes.push(el('span', { class: 'badge warn' }, 'price changed' + (l.previous_unit_price ? ' from ' + money(l.previous_unit_price) : '')));
    if (l.orderable === false) notes.push(el('span', { class: 'badge bad' }, l.reason === 'no_price' ? 'no price' : 'not available'));
    if (l.available !== undefined && l.orderable !== false && l.available < l.qty) notes.push(el('span', { class: 'badge warn' }, `only ${l.available} in stock`));
    return el('tr', { dataset: { sku: l.sku } },
      el('td', { class: 'mono nowrap' }, el('a', { href: '/product.html?sku=' + encodeURIComponent(l.sku) }, l.sku)),
      el('td', {}, l.name || '', notes.length ? el('div', {}, notes) : null),
      qtyCell,
      el('td', { class: 'num price' }, money(l.unit_price)),
      el('td', { class: 'num' }, money(l.net)),
      el('td', { class: 'num' }, money(l.tax)),
      el('td', { class: 'num' }, money(l.gross)));
  });
  const t = cart.totals;
  const foot = t ? el('tr', {}, el('td', { colspan: '4' }, 'Total'),
    el('td', { class: 'num', id: 'total-net' }, money(t.net)), el('td', { class: 'num' }, money(t.tax)),
    el('td', { class: 'num', id: 'total-gross' }, money(t.gross))) : null;
  return table(['SKU', 'Product', [editable ? 'Quantity' : 'Qty', 'num'], ['Unit price', 'num'], ['Net', 'num'], ['Tax', 'num'], ['Gross', 'num']],
    rows, { foot, class: 'cart-lines' });
}

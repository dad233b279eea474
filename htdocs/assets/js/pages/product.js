// One product: description, availability, the acting account's price and
// volume brackets, add to cart, and "explain this price" (the quote API's
// explanation: every rule applied, in order, with the amount after it).
import { api } from '../api.js';
import { boot, ready, fail, refreshCartCount } from '../layout.js';
import { el, fill, $, clear, money, when, notify, errorText, params, table, availabilityText } from '../ui.js';

const LAYERS = {
  list: 'List price', tier: 'Price list (tier)', bracket: 'Volume bracket', contract: 'Contract',
  promo: 'Promo code', fx: 'Currency conversion', tax: 'Tax', rounding: 'Rounding',
};

async function quote(lines, explain) {
  return api('POST', '/prices/quote' + (explain ? '?explain=1' : ''), { body: { lines } });
}

async function explain(sku, qty, out) {
  out.setAttribute('aria-busy', 'true');
  try {
    const q = await quote([{ sku, qty }], true);
    const line = q.lines[0];
    const steps = (line.rules || []).map((s, i) => el('tr', {},
      el('td', { class: 'num' }, i + 1),
      el('td', {}, LAYERS[s.layer] || s.layer),
      el('td', { class: 'mono' }, s.rule_id ? '#' + s.rule_id : '—'),
      el('td', { class: 'num price' }, money(s.amount))));
    fill(out, 
      el('h3', { id: 'explain-heading' }, `How ${qty} × ${sku} is priced`),
      table(['Step', 'Rule', 'Rule id', ['Unit price after it', 'num']], steps, { class: 'explain' }),
      el('dl', { class: 'kv' },
        el('dt', {}, 'Unit price'), el('dd', { class: 'price', id: 'explain-unit' }, money(line.unit_price)),
        el('dt', {}, `Net (${qty})`), el('dd', {}, money(line.net)),
        el('dt', {}, 'Tax' + (line.tax_rate_percent ? ` (${line.tax_rate_percent} %)` : '')), el('dd', {}, money(line.tax)),
        el('dt', {}, 'Gross'), el('dd', {}, money(line.gross)),
        el('dt', {}, 'Pricing generation'), el('dd', { class: 'mono' }, q.pricing_generation)),
      el('p', { class: 'subtle' }, 'Contracts beat the price list and brackets; a promo code applies on top; tax comes last.'));
    out.querySelector('h3').tabIndex = -1;
    out.querySelector('h3').focus();
  } catch (e) {
    fill(out, el('p', { class: 'notice error', role: 'alert' }, 'The price could not be explained: ' + errorText(e)));
  } finally {
    out.removeAttribute('aria-busy');
  }
}

async function main() {
  await boot('catalog', { account: true });
  const sku = (params().get('sku') || '').trim().toUpperCase();
  const box = $('#product');
  if (!sku) {
    fill(box, el('p', { class: 'notice error', role: 'alert' }, 'No product was named.'));
    return ready();
  }
  let p;
  try {
    p = await api('GET', '/catalog/products/' + encodeURIComponent(sku));
  } catch (e) {
    fill(box, el('h1', {}, sku), el('p', { class: 'notice error', role: 'alert' },
      e.status === 404 ? 'This product does not exist or is not in your catalog.' : 'The product could not be loaded: ' + errorText(e)));
    return ready();
  }
  document.title = `${p.name} · B2B Portal`;
  $('#crumb').textContent = p.sku;

  // Brackets: the catalog names the quantities; a quote prices each, so the
  // page shows exactly what the cart and the order will charge.
  const brackets = (p.brackets || p.volume_brackets || []).map((b) => (typeof b === 'number' ? { min_qty: b } : b))
    .filter((b) => b && b.min_qty > 1);
  const qtys = [1, ...brackets.map((b) => b.min_qty)];
  let priced = null;
  try { priced = await quote(qtys.map((qty) => ({ sku: p.sku, qty })), false); } catch { /* shown below */ }
  const unit = priced ? priced.lines[0].unit_price : p.price;
  const bracketRows = qtys.map((qty, i) => {
    const b = i ? brackets[i - 1] : null;
    const price = (priced && priced.lines[i].unit_price) || (b && (b.unit_price || b.price)) || (i === 0 ? p.price : null);
    return el('tr', {}, el('td', { class: 'num' }, i === 0 ? '1' : `${qty}+`), el('td', { class: 'num price' }, money(price)));
  });

  const qty = el('input', { type: 'number', id: 'qty', min: '1', max: '1000000', value: '1' });
  const add = el('button', { type: 'button', id: 'add-to-cart' }, 'Add to cart');
  const explainBtn = el('button', { type: 'button', class: 'secondary', id: 'explain-price', 'aria-controls': 'explain' }, 'Explain this price');
  const explainBox = el('div', { id: 'explain', class: 'panel', 'aria-live': 'polite', hidden: true });
  add.addEventListener('click', async () => {
    const n = parseInt(qty.value, 10);
    if (!Number.isInteger(n) || n < 1) { notify('product-message', 'error', 'Enter a quantity of at least 1.'); qty.focus(); return; }
    add.disabled = true;
    try {
      await api('POST', '/cart/lines', { body: { sku: p.sku, qty: n } });
      notify('product-message', 'ok', `Added ${n} × ${p.sku} to the cart. `, el('a', { href: '/cart.html' }, 'View cart'));
      refreshCartCount();
    } catch (e) {
      notify('product-message', 'error', 'Not added: ' + errorText(e));
    } finally { add.disabled = false; }
  });
  explainBtn.addEventListener('click', () => {
    const n = parseInt(qty.value, 10);
    explainBox.hidden = false;
    explain(p.sku, Number.isInteger(n) && n > 0 ? n : 1, explainBox);
  });

  const attrs = p.attributes && typeof p.attributes === 'object' ? Object.entries(p.attributes) : [];
  const a = p.availability;
  fill(box, 
    el('h1', {}, p.name),
    el('div', { class: 'split' },
      el('section', { class: 'panel', 'aria-label': 'Price and ordering' },
        el('p', { class: 'subtle' }, 'Your price'),
        el('p', { class: 'big-price', id: 'unit-price' }, money(unit)),
        el('p', {}, el('span', { class: 'badge ' + ((a && (a.available ?? 0) > 0) ? 'ok' : 'warn'), id: 'availability' }, availabilityText(a)),
          a && a.as_of ? el('span', { class: 'subtle' }, ' as of ' + when(a.as_of)) : null),
        el('div', { class: 'field' }, el('label', { for: 'qty' }, 'Quantity'), qty),
        el('div', { class: 'actions' }, add, explainBtn)),
      el('section', {},
        el('div', { class: 'panel' },
          el('dl', { class: 'kv' },
            el('dt', {}, 'SKU'), el('dd', { class: 'mono' }, p.sku),
            el('dt', {}, 'Category'), el('dd', {}, (p.category_path || []).map((c) => c.name).join(' › ') || p.category_name || (p.category && typeof p.category === 'object' ? (p.category.name || p.category.code) : (p.category || '—'))),
            p.product_group ? [el('dt', {}, 'Product group'), el('dd', {}, typeof p.product_group === 'object' ? p.product_group.name || p.product_group.code : p.product_group)] : null,
            p.unit ? [el('dt', {}, 'Unit'), el('dd', {}, p.unit)] : null,
            ...attrs.map(([k, v]) => [el('dt', {}, k), el('dd', {}, typeof v === 'object' ? JSON.stringify(v) : String(v))])),
          p.description ? el('p', {}, p.description) : null),
        el('div', { class: 'panel' },
          el('h2', {}, 'Volume pricing'),
          brackets.length ? null : el('p', { class: 'subtle' }, 'No volume brackets apply to this product for your account.'),
          table([['Quantity', 'num'], ['Unit price', 'num']], bracketRows, { class: 'brackets' })),
        explainBox)));
  ready();
}

main().catch(fail);

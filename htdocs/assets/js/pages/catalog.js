// Catalog: search, category tree, paging; each card shows the acting
// account's unit price (qty 1) and availability, and adds to the cart.
import { api } from '../api.js';
import { boot, ready, fail, refreshCartCount } from '../layout.js';
import { el, fill, $, clear, money, when, notify, clearNotice, errorText, params, setParams, table, pager, availabilityText } from '../ui.js';

const PER_PAGE = 25;
let state = { q: '', category: '', page: 1 };
const categoryNames = new Map();

function catCode(c) { return c && typeof c === 'object' ? c.code : c; }
function catName(c) {
  if (!c) return '';
  if (typeof c === 'object') return c.name || c.code;
  return categoryNames.get(c) || c;
}

function availabilityCell(a) {
  const n = a ? (a.available ?? a.on_hand) : null;
  return el('td', { class: 'nowrap', title: a && a.as_of ? 'Stock as of ' + when(a.as_of) : null },
    el('span', { class: 'badge ' + (n > 0 ? 'ok' : n === 0 ? 'bad' : 'neutral') }, availabilityText(a)));
}

function nodesOf(data) {
  if (Array.isArray(data)) return data;
  return data.items || data.categories || data.tree || data.children || [];
}

function renderTree(nodes) {
  const ul = el('ul', { class: 'tree' });
  for (const n of nodes) {
    categoryNames.set(n.code, n.name);
    const count = n.product_count ?? n.total ?? n.count;
    const a = el('a', { href: '?category=' + encodeURIComponent(n.code), dataset: { code: n.code },
      'aria-current': n.code === state.category ? 'true' : null },
      n.name, count !== undefined ? el('span', { class: 'count' }, ` (${count})`) : null);
    a.addEventListener('click', (ev) => { ev.preventDefault(); go({ category: n.code, page: 1 }); });
    const li = el('li', {}, a);
    if (n.children && n.children.length) li.append(renderTree(n.children));
    ul.append(li);
  }
  return ul;
}

async function loadTree() {
  const box = $('#category-tree');
  try {
    const data = await api('GET', '/catalog/categories');
    const all = el('a', { href: '/', 'aria-current': state.category ? null : 'true', dataset: { code: '' } }, 'All products');
    all.addEventListener('click', (ev) => { ev.preventDefault(); go({ category: '', page: 1 }); });
    fill(box, el('ul', { class: 'tree' }, el('li', {}, all)), renderTree(nodesOf(data)));
  } catch (e) {
    fill(box, el('p', { class: 'notice error', role: 'alert' }, 'Categories could not be loaded: ' + errorText(e)));
  }
}

function markTree() {
  for (const a of box().querySelectorAll('a[data-code]')) {
    if (a.dataset.code === state.category) a.setAttribute('aria-current', 'true');
    else a.removeAttribute('aria-current');
  }
  function box() { return $('#category-tree'); }
}

async function addToCart(sku, qtyInput, button) {
  const qty = parseInt(qtyInput.value, 10);
  if (!Number.isInteger(qty) || qty < 1) {
    notify('catalog-message', 'error', `Enter a quantity of at least 1 for ${sku}.`);
    qtyInput.focus();
    return;
  }
  button.disabled = true;
  try {
    await api('POST', '/cart/lines', { body: { sku, qty } });
    notify('catalog-message', 'ok', `Added ${qty} × ${sku} to the cart. `, el('a', { href: '/cart.html' }, 'View cart'));
    refreshCartCount();
  } catch (e) {
    notify('catalog-message', 'error', `${sku} was not added: ${errorText(e)}`);
  } finally {
    button.disabled = false;
  }
}

function row(p) {
  const qty = el('input', { type: 'number', min: '1', max: '1000000', step: '1', value: '1', id: 'qty-' + p.sku, 'aria-label': `Quantity of ${p.sku}` });
  const add = el('button', { type: 'button', class: 'small', dataset: { sku: p.sku } }, 'Add to cart');
  add.addEventListener('click', () => addToCart(p.sku, qty, add));
  qty.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') { ev.preventDefault(); add.click(); } });
  return el('tr', { dataset: { sku: p.sku } },
    el('td', { class: 'mono nowrap' }, p.sku),
    el('td', {}, el('a', { href: '/product.html?sku=' + encodeURIComponent(p.sku) }, p.name)),
    el('td', {}, p.category_name || catName(p.category)),
    el('td', { class: 'num price nowrap' }, p.price ? money(p.price) : el('span', { class: 'subtle' }, 'no price')),
    availabilityCell(p.availability),
    el('td', { class: 'nowrap' }, qty, ' ', add));
}

async function loadProducts() {
  const out = $('#results');
  const qs = new URLSearchParams({ page: state.page, per_page: PER_PAGE });
  if (state.q) qs.set('q', state.q);
  if (state.category) qs.set('category', state.category);
  out.setAttribute('aria-busy', 'true');
  try {
    const data = await api('GET', '/catalog/products?' + qs);
    const items = data.items || [];
    const heading = $('#results-heading');
    heading.textContent = (state.q ? `Results for “${state.q}”` : 'Products') + (state.category ? ` in ${catName(state.category)}` : '');
    clear(out);
    if (!items.length) {
      out.append(el('p', { class: 'notice info', role: 'status' }, 'No products match. Try other words or another category.'));
    } else {
      out.append(table(['SKU', 'Product', 'Category', ['Your price', 'num'], 'Availability', 'Order'], items.map(row), { caption: `${(data.total ?? items.length).toLocaleString('en-US')} ${(data.total ?? items.length) === 1 ? 'product' : 'products'}`, class: 'products' }),
        pager({ page: data.page || state.page, per_page: data.per_page || PER_PAGE, total: data.total ?? items.length }, (p) => go({ page: p })));
    }
  } catch (e) {
    fill(out, el('p', { class: 'notice error', role: 'alert' }, 'Products could not be loaded: ' + errorText(e)));
  } finally {
    out.removeAttribute('aria-busy');
  }
}

async function go(change) {
  state = { ...state, ...change };
  setParams({ q: state.q, category: state.category, page: state.page > 1 ? state.page : '' });
  markTree();
  clearNotice('catalog-message');
  await loadProducts();
}

async function main() {
  const ctx = await boot('catalog', { account: true, home: true });
  const p = params();
  state = { q: p.get('q') || '', category: p.get('category') || '', page: Math.max(1, parseInt(p.get('page') || '1', 10) || 1) };
  $('#q').value = state.q;
  $('#search-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    go({ q: $('#q').value.trim(), page: 1 });
  });
  $('#search-clear').addEventListener('click', () => { $('#q').value = ''; go({ q: '', category: '', page: 1 }); });
  document.title = `Catalog · ${ctx.acting.name} · B2B Portal`;
  await Promise.all([loadTree(), loadProducts()]);
  ready();
}

main().catch(fail);

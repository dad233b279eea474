// Price rules for portal operators. A change is always previewed first
// (POST /admin/price-rules/preview: how many accounts and SKUs it reaches,
// sample prices before and after); Publish sends exactly the previewed rule.
import { api } from '../api.js';
import { boot, ready, fail } from '../layout.js';
import { el, fill, $, $$, clear, money, notify, clearNotice, errorText, table, pager } from '../ui.js';

const TEXT_FIELDS = ['account', 'tier', 'sku', 'product_group', 'promo_code', 'country', 'to_currency'];
let previewed = null;       // the JSON text of the rule last previewed successfully
let filter = { kind: '', account: '', sku: '', page: 1 };

function showFieldsFor(kind) {
  for (const f of $$('#rule-form [data-for]')) {
    const on = f.dataset.for.split(' ').includes(kind);
    f.hidden = !on;
    for (const i of f.querySelectorAll('input')) i.disabled = !on;
  }
}

function ruleFromForm() {
  const v = (id) => { const e = $('#' + id); return e && !e.disabled ? e.value.trim() : ''; };
  const kind = $('#kind').value;
  const rule = { kind };
  const id = $('#rule-id').value;
  if (id) rule.id = Number(id);
  for (const k of TEXT_FIELDS) if (v(k)) rule[k] = ['account', 'tier', 'sku', 'product_group', 'country', 'to_currency'].includes(k) ? v(k).toUpperCase() : v(k);
  const cur = v('currency').toUpperCase();
  if (v('price')) rule.price = { amount: v('price'), currency: cur };
  if (kind === 'fx' && cur) rule.currency = cur;
  if (v('discount_percent')) rule.discount_percent = v('discount_percent');
  if (v('rate_percent')) rule.rate_percent = v('rate_percent');
  if (v('fx_rate')) rule.fx_rate = v('fx_rate');
  if (v('min_qty')) rule.min_qty = parseInt(v('min_qty'), 10);
  if (v('valid_from')) rule.valid_from = v('valid_from');
  if (v('valid_to')) rule.valid_to = v('valid_to');
  return rule;
}

function fillForm(rule) {
  $('#rule-form').reset();
  $('#rule-id').value = rule.id || '';
  $('#kind').value = rule.kind;
  showFieldsFor(rule.kind);
  for (const k of TEXT_FIELDS) if (rule[k]) $('#' + k).value = rule[k];
  if (rule.price) { $('#price').value = rule.price.amount; $('#currency').value = rule.price.currency; }
  if (rule.kind === 'fx' && rule.currency) $('#currency').value = rule.currency;
  for (const k of ['discount_percent', 'rate_percent', 'fx_rate', 'min_qty']) if (rule[k] !== undefined) $('#' + k).value = rule[k];
  for (const k of ['valid_from', 'valid_to']) if (rule[k]) $('#' + k).value = String(rule[k]).slice(0, 10);
  $('#editor-heading').textContent = rule.id ? `Edit rule #${rule.id}` : 'New rule';
  invalidate();
}

function invalidate() {
  previewed = null;
  $('#publish-rule').disabled = true;
}

function describe(rule) {
  const scope = [rule.account, rule.tier && 'tier ' + rule.tier, rule.sku, rule.product_group && 'group ' + rule.product_group,
    rule.promo_code && 'code ' + rule.promo_code, rule.country, rule.to_currency && '→ ' + rule.to_currency].filter(Boolean).join(' · ');
  const what = [rule.price && money(rule.price), rule.amount_off && money(rule.amount_off) + ' off',
    rule.discount_percent && rule.discount_percent + ' % off', rule.rate_percent && rule.rate_percent + ' % tax',
    rule.fx_rate && '× ' + rule.fx_rate, rule.min_qty && 'from ' + rule.min_qty].filter(Boolean).join(' · ');
  return { scope, what };
}

function renderPreview(p, rule, isDelete) {
  const box = clear($('#preview'));
  const a = p.affected || {};
  const samples = (p.samples || []).map((s) => {
    const before = typeof s.before === 'object' ? money(s.before) : s.before;
    const after = typeof s.after === 'object' ? money(s.after) : s.after;
    return el('tr', { class: before !== after ? 'changed' : null },
      el('td', { class: 'mono' }, s.account), el('td', { class: 'mono' }, s.sku), el('td', { class: 'num' }, s.qty),
      el('td', { class: 'num' }, before), el('td', { class: 'num price' }, after),
      el('td', {}, before !== after ? el('span', { class: 'badge warn' }, 'changes') : el('span', { class: 'badge neutral' }, 'same')));
  });
  fill(box, el('h3', { id: 'preview-heading', tabindex: '-1' }, isDelete ? `Preview: delete rule #${rule.id}` : `Preview: ${p.action || 'change'}`),
    el('p', { id: 'preview-summary' }, `Reaches ${a.accounts ?? '?'} account(s) × ${a.skus ?? '?'} SKU(s) = ${a.pairs ?? '?'} prices; `,
      `${p.sampled_changed ?? 0} of ${p.sampled_pairs ?? samples.length} sampled prices change.`),
    samples.length ? table(['Account', 'SKU', ['Qty', 'num'], ['Now', 'num'], ['After', 'num'], ''], samples, { class: 'samples', caption: 'Sample prices' }) : null);
  $('#preview-heading').focus();
}

async function preview(ev) {
  ev.preventDefault();
  clearNotice('rules-message');
  const rule = ruleFromForm();
  const button = $('#preview-rule');
  button.disabled = true;
  try {
    const p = await api('POST', '/admin/price-rules/preview', { body: rule, account: false });
    renderPreview(p, rule, false);
    previewed = JSON.stringify(rule);
    $('#publish-rule').disabled = false;
  } catch (e) {
    clear($('#preview'));
    invalidate();
    const field = e.details && e.details.error && e.details.error.field;
    notify('rules-message', 'error', 'The rule is not valid: ' + errorText(e) + (field ? ` (field ${field})` : ''));
  } finally { button.disabled = false; }
}

async function publish() {
  const rule = ruleFromForm();
  if (JSON.stringify(rule) !== previewed) { invalidate(); notify('rules-message', 'error', 'The rule changed since the preview: preview it again.'); return; }
  const button = $('#publish-rule');
  button.disabled = true;
  try {
    const saved = rule.id
      ? await api('PUT', '/admin/price-rules/' + rule.id, { body: rule, account: false })
      : await api('POST', '/admin/price-rules', { body: rule, account: false });
    notify('rules-message', 'ok', `Rule #${saved.id || rule.id} published. Every node prices with it within seconds.`);
    fillForm({ kind: rule.kind });
    clear($('#preview'));
    await loadRules();
  } catch (e) {
    notify('rules-message', 'error', 'Not published: ' + errorText(e));
    button.disabled = false;
  }
}

async function remove(rule) {
  try {
    const p = await api('POST', '/admin/price-rules/preview?delete=' + rule.id, { account: false });
    renderPreview(p, rule, true);
  } catch (e) { notify('rules-message', 'error', errorText(e)); return; }
  if (!confirm(`Delete rule #${rule.id}? The preview shows what changes.`)) return;
  try {
    await api('DELETE', '/admin/price-rules/' + rule.id, { account: false });
    notify('rules-message', 'ok', `Rule #${rule.id} deleted.`);
    clear($('#preview'));
    await loadRules();
  } catch (e) { notify('rules-message', 'error', 'Not deleted: ' + errorText(e)); }
}

async function loadRules() {
  const box = $('#rules');
  const qs = new URLSearchParams({ page: filter.page, per_page: 50 });
  for (const k of ['kind', 'account', 'sku']) if (filter[k]) qs.set(k, filter[k]);
  try {
    const data = await api('GET', '/admin/price-rules?' + qs, { account: false });
    clear(box);
    const items = data.items || [];
    if (!items.length) { box.append(el('p', { class: 'notice info' }, 'No rules match.')); return; }
    box.append(table(['Id', 'Kind', 'Scope', 'Price or discount', 'Valid', ''], items.map((r) => {
      const d = describe(r);
      return el('tr', { dataset: { id: r.id } },
        el('td', { class: 'mono' }, '#' + r.id), el('td', {}, r.kind), el('td', {}, d.scope), el('td', { class: 'price' }, d.what),
        el('td', { class: 'nowrap subtle' }, [r.valid_from ? 'from ' + String(r.valid_from).slice(0, 10) : '', r.valid_to ? 'until ' + String(r.valid_to).slice(0, 10) : ''].filter(Boolean).join(' ') || 'always'),
        el('td', { class: 'nowrap' },
          el('button', { type: 'button', class: 'secondary small', 'aria-label': `Edit rule #${r.id}`, onclick: () => { fillForm(r); $('#kind').focus(); } }, 'Edit'), ' ',
          el('button', { type: 'button', class: 'danger small', 'aria-label': `Delete rule #${r.id}`, onclick: () => remove(r) }, 'Delete')));
    }), { class: 'rules' }), pager(data, (p) => { filter.page = p; loadRules(); }));
  } catch (e) {
    clear(box);
    notify('rules-message', 'error', 'Rules could not be loaded: ' + errorText(e));
  }
}

async function main() {
  await boot('admin-rules', { admin: true });
  const p = new URLSearchParams(location.search);
  filter = { kind: p.get('kind') || '', account: p.get('account') || '', sku: p.get('sku') || '', page: 1 };
  $('#f-kind').value = filter.kind; $('#f-account').value = filter.account; $('#f-sku').value = filter.sku;
  showFieldsFor($('#kind').value);
  $('#kind').addEventListener('change', () => { showFieldsFor($('#kind').value); invalidate(); });
  $('#rule-form').addEventListener('input', invalidate);
  $('#rule-form').addEventListener('submit', preview);
  $('#publish-rule').addEventListener('click', publish);
  $('#reset-rule').addEventListener('click', () => { fillForm({ kind: $('#kind').value }); clear($('#preview')); clearNotice('rules-message'); });
  $('#rules-filter').addEventListener('submit', (ev) => {
    ev.preventDefault();
    filter = { kind: $('#f-kind').value, account: $('#f-account').value.trim().toUpperCase(), sku: $('#f-sku').value.trim().toUpperCase(), page: 1 };
    loadRules();
  });
  await loadRules();
  ready();
}

main().catch(fail);

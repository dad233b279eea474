// Operator status: the worker, the pricing snapshot (generation and age),
// cache hit rates, queue depth and Redis, from GET /admin/status. Sections
// this page does not know yet are shown as they come.
import { api } from '../api.js';
import { boot, ready, fail } from '../layout.js';
import { el, fill, $, clear, notify, errorText } from '../ui.js';

function ms(v) {
  if (v === null || v === undefined) return '—';
  if (v < 1000) return `${v} ms`;
  if (v < 120000) return `${(v / 1000).toFixed(1)} s`;
  return `${Math.round(v / 60000)} min`;
}
function yesNo(v) { return el('span', { class: 'badge ' + (v ? 'ok' : 'bad') }, v ? 'yes' : 'no'); }
function value(k, v) {
  if (typeof v === 'boolean') return yesNo(v);
  if (/_ms(_ago)?$/.test(k) && typeof v === 'number') return ms(v);
  if (/_(s|seconds)$/.test(k) && typeof v === 'number') return ms(v * 1000);
  if (k === 'state' && typeof v === 'string') return el('span', { class: 'badge ' + (['running', 'serving', 'ok', 'connected'].includes(v) ? 'ok' : 'warn') }, v);
  if (k.endsWith('hit_rate') && typeof v === 'number') return (v <= 1 ? (v * 100).toFixed(1) : v.toFixed(1)) + ' %';
  if (v && typeof v === 'object' && 'amount' in v) return `${v.amount} ${v.currency}`;
  if (Array.isArray(v)) return v.length ? v.map((x) => (typeof x === 'object' ? Object.values(x).join(': ') : x)).join(', ') : '—';
  if (v && typeof v === 'object') return kv(v);
  return v === null || v === undefined || v === '' ? '—' : String(v);
}

function label(k) {
  return k.replace(/_ms_ago$/, '_ago').replace(/_(ms|s|seconds)$/, '').replace(/_/g, ' ');
}
function kv(obj) {
  return el('dl', { class: 'kv' }, Object.entries(obj).map(([k, v]) => [el('dt', {}, label(k)), el('dd', { dataset: { key: k } }, value(k, v))]));
}
function section(title, obj, id) {
  const rows = Object.entries(obj || {}).map(([k, v]) => [el('dt', {}, label(k)), el('dd', { dataset: { key: k } }, value(k, v))]);
  return el('section', { class: 'panel', id: 'status-' + id, 'aria-labelledby': 'h-' + id },
    el('h2', { id: 'h-' + id }, title), rows.length ? el('dl', { class: 'kv' }, rows) : el('p', { class: 'subtle' }, 'No data.'));
}

function headline(s) {
  const p = s.pricing || {};
  const w = s.worker || {};
  const items = [
    ['Pricing generation', p.generation ?? '—'],
    ['Snapshot age', ms(p.age_ms)],
    ['Redis', p.redis_connected === undefined ? '—' : p.redis_connected ? 'connected' : 'down'],
    ['Worker', w.state || '—'],
  ];
  const q = (s.erp && s.erp.queue) || s.queue;
  if (q && typeof q === 'object') {
    items.push(['Queue depth', (q.pending ?? 0) + (q.in_flight ?? 0)], ['Dead letters', q.dead ?? '—']);
  }
  const cache = s.catalog && (s.catalog.cache || s.catalog);
  if (cache && typeof cache === 'object' && (cache.hit_rate !== undefined || cache.hits !== undefined)) {
    const rate = cache.hit_rate ?? (cache.hits + cache.misses ? cache.hits / (cache.hits + cache.misses) : null);
    items.push(['Catalog cache hit rate', rate === null ? '—' : (rate * 100).toFixed(1) + ' %']);
  }
  return el('div', { class: 'panel', id: 'status-headline' }, el('dl', { class: 'kv' }, items.map(([k, v]) => [el('dt', {}, k), el('dd', { class: 'price' }, String(v))])));
}

async function load() {
  const box = $('#status');
  try {
    const s = await api('GET', '/admin/status', { account: false });
    const titles = { worker: 'Background worker', pricing: 'Pricing', catalog: 'Catalog cache', queue: 'Order queue', outbox: 'Order queue', erp: 'ERP', redis: 'Redis' };
    const parts = [headline(s)];
    for (const [k, v] of Object.entries(s)) {
      if (v && typeof v === 'object' && !Array.isArray(v)) {
        const { tasks, ...rest } = v;
        const sec = section(titles[k] || k, rest, k);
        if (Array.isArray(tasks) && tasks.length) {
          sec.append(el('h3', {}, 'Tasks'), el('ul', {}, tasks.map((t) => el('li', {}, `${t.name}: last beat ${ms(t.last_beat_ms_ago)} ago`))));
        }
        parts.push(sec);
      }
    }
    fill(box, ...parts);
    $('#status-time').textContent = 'As of ' + new Date().toLocaleTimeString('en-GB');
  } catch (e) {
    clear(box);
    notify('status-message', 'error', 'The status could not be loaded: ' + errorText(e));
  }
}

async function main() {
  await boot('admin-status', { admin: true });
  $('#status-refresh').addEventListener('click', load);
  await load();
  ready();
}

main().catch(fail);

// The ERP outbox for operators: each order's delivery state, attempts, last
// error and next attempt; a dead letter can be retried once its cause is
// fixed.
import { api } from '../api.js';
import { boot, ready, fail } from '../layout.js';
import { el, $, clear, when, badge, notify, errorText, table, pager } from '../ui.js';

let state = { state: '', page: 1 };

async function retry(entry, button) {
  button.disabled = true;
  try {
    await api('POST', `/admin/queue/${encodeURIComponent(entry.id)}/retry`, { account: false });
    notify('queue-message', 'ok', `Entry #${entry.id} (order #${entry.order_id ?? '?'}) is queued again.`);
    await load();
  } catch (e) {
    notify('queue-message', 'error', `Entry #${entry.id} was not retried: ${errorText(e)}`);
    button.disabled = false;
  }
}

async function load() {
  const box = $('#queue');
  const qs = new URLSearchParams({ page: state.page, per_page: 50 });
  if (state.state) qs.set('state', state.state);
  let data;
  try {
    data = await api('GET', '/admin/queue?' + qs, { account: false });
  } catch (e) {
    clear(box);
    notify('queue-message', 'error', e.status === 404 && e.code === 'not_found'
      ? 'This server has no order queue endpoint (GET /admin/queue) yet.'
      : 'The queue could not be loaded: ' + errorText(e));
    return;
  }
  clear(box);
  const items = data.items || [];
  if (data.summary || data.counts) {
    const c = data.summary || data.counts;
    box.append(el('p', { class: 'subtle', id: 'queue-summary' }, Object.entries(c).map(([k, v]) => `${k.replace(/_/g, ' ')}: ${v}`).join(' · ')));
  }
  if (!items.length) { box.append(el('p', { class: 'notice info' }, state.state === 'dead' ? 'No dead letters.' : 'The queue is empty.')); return; }
  box.append(table(['Entry', 'Order', 'Order status', 'State', ['Attempts', 'num'], 'Last error', 'Next attempt', 'Updated', ''], items.map((q) => {
    const b = q.state === 'dead' ? el('button', { type: 'button', class: 'small', 'aria-label': `Retry entry ${q.id}` }, 'Retry') : null;
    if (b) b.addEventListener('click', () => retry(q, b));
    return el('tr', { dataset: { id: q.id, state: q.state } },
      el('td', { class: 'mono' }, '#' + q.id),
      el('td', {}, q.order_id ? el('a', { href: '/order.html?id=' + q.order_id }, '#' + q.order_id) : '—'),
      el('td', {}, q.order_status ? badge(q.order_status) : '—'),
      el('td', {}, badge(q.state)),
      el('td', { class: 'num' }, q.attempts ?? ''),
      el('td', { class: 'mono' }, [q.last_error || '', q.last_http_status ? ` (HTTP ${q.last_http_status})` : '']),
      el('td', { class: 'nowrap' }, q.state === 'pending' && q.next_attempt_at ? when(q.next_attempt_at) : '—'),
      el('td', { class: 'nowrap' }, when(q.updated_at)),
      el('td', {}, b));
  }), { class: 'queue' }), pager(data, (p) => { state.page = p; load(); }));
}

async function main() {
  await boot('admin-queue', { admin: true });
  state.state = new URLSearchParams(location.search).get('state') || '';
  $('#q-state').value = state.state;
  $('#queue-filter').addEventListener('submit', (ev) => { ev.preventDefault(); state = { state: $('#q-state').value, page: 1 }; load(); });
  $('#queue-refresh').addEventListener('click', load);
  await load();
  ready();
}

main().catch(fail);

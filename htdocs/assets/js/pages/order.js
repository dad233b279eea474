// One order: lines, totals, status history, and the actions the user may
// take on it (approve / reject for approvers, cancel while it has not gone
// to the ERP). An order the user may not see is "not found", as the API says.
import { api } from '../api.js';
import { boot, ready, fail } from '../layout.js';
import { el, fill, $, clear, money, when, badge, notify, errorText, params, table, statusLabel } from '../ui.js';
import { orderAction, CANCELLABLE } from '../order-actions.js';

let ctx;

function actions(o) {
  const box = el('div', { class: 'actions', id: 'order-actions' });
  const mine = o.placed_by === ctx.me.user.username;
  const run = async (action, reason) => {
    for (const b of box.querySelectorAll('button')) b.disabled = true;
    try {
      await orderAction(o.id, action, reason);
      notify('order-message', 'ok', { approve: 'Order approved.', reject: 'Order rejected.', cancel: 'Order cancelled.' }[action]);
      await render(o.id);
    } catch (e) {
      notify('order-message', 'error', 'Not done: ' + errorText(e));
      for (const b of box.querySelectorAll('button')) b.disabled = false;
    }
  };
  if (o.status === 'pending_approval' && ctx.canApprove && !mine) {
    const reason = el('input', { type: 'text', id: 'action-reason', maxlength: '2000', size: '40' });
    box.append(
      el('button', { type: 'button', id: 'approve', onclick: () => run('approve', reason.value.trim()) }, 'Approve'),
      el('button', { type: 'button', class: 'danger', id: 'reject', onclick: () => {
        if (!reason.value.trim()) { notify('order-message', 'error', 'Give a reason to reject the order.'); reason.focus(); return; }
        run('reject', reason.value.trim());
      } }, 'Reject'),
      el('label', { for: 'action-reason', class: 'subtle' }, 'Reason or note'), reason);
  }
  if (CANCELLABLE.has(o.status) && (mine || ctx.canApprove)) {
    box.append(el('button', { type: 'button', class: 'secondary', id: 'cancel-order', onclick: () => {
      if (confirm(`Cancel order #${o.id}?`)) run('cancel');
    } }, 'Cancel order'));
  }
  return box.childNodes.length ? box : null;
}

async function render(id) {
  const box = $('#order');
  let o;
  try {
    o = await api('GET', '/orders/' + encodeURIComponent(id));
  } catch (e) {
    fill(box, el('h1', {}, 'Order #' + id));
    notify('order-message', 'error', e.status === 404 ? 'This order does not exist or is not visible to you.' : 'The order could not be loaded: ' + errorText(e));
    return;
  }
  document.title = `Order #${o.id} · B2B Portal`;
  $('#crumb').textContent = '#' + o.id;
  const lines = (o.lines || []).map((l) => el('tr', {},
    el('td', { class: 'num' }, l.line_no),
    el('td', { class: 'mono' }, l.sku),
    el('td', {}, l.name || '', l.backordered_qty ? el('div', {}, el('span', { class: 'badge warn' }, `${l.backordered_qty} on backorder`)) : null),
    el('td', { class: 'num' }, l.qty),
    el('td', { class: 'num' }, money(l.unit_price)),
    el('td', { class: 'num' }, money(l.net)),
    el('td', { class: 'num' }, money(l.tax)),
    el('td', { class: 'num' }, money(l.gross))));
  const t = o.totals || {};
  const foot = el('tr', {}, el('td', { colspan: '5' }, 'Total'), el('td', { class: 'num' }, money(t.net)),
    el('td', { class: 'num' }, money(t.tax)), el('td', { class: 'num', id: 'order-gross' }, money(t.gross)));
  const history = el('ol', { class: 'timeline', id: 'history' }, (o.history || []).map((h) => el('li', { dataset: { status: h.status } },
    badge(h.status), ' ', el('span', { class: 'subtle' }, when(h.at)), h.by ? ` by ${h.by}` : '', h.note ? el('div', {}, h.note) : null)));
  fill(box, 
    el('h1', {}, `Order #${o.id} `, el('span', { id: 'order-status' }, badge(o.status))),
    o.status === 'pending_approval' ? el('p', { class: 'notice warn' }, 'This order waits for an approver before it goes to the ERP.') : null,
    el('div', { class: 'split' },
      el('section', { class: 'panel', 'aria-label': 'Order details' }, el('dl', { class: 'kv' },
        el('dt', {}, 'PO number'), el('dd', { id: 'order-po' }, o.po_number),
        el('dt', {}, 'Account'), el('dd', { class: 'mono' }, o.account),
        el('dt', {}, 'Placed by'), el('dd', {}, o.placed_by),
        el('dt', {}, 'Placed'), el('dd', {}, when(o.created_at)),
        el('dt', {}, 'Status'), el('dd', {}, statusLabel(o.status)),
        o.promo_code ? [el('dt', {}, 'Promo code'), el('dd', {}, o.promo_code)] : null,
        o.erp_ref ? [el('dt', {}, 'ERP reference'), el('dd', { class: 'mono' }, o.erp_ref)] : null,
        o.invoice ? [el('dt', {}, 'Invoice'), el('dd', {}, el('a', { href: '/invoice.html?id=' + o.invoice.id }, o.invoice.number))] : null,
        o.note ? [el('dt', {}, 'Note'), el('dd', {}, o.note)] : null)),
      el('section', { class: 'panel', 'aria-labelledby': 'history-heading' }, el('h2', { id: 'history-heading' }, 'Status history'), history)),
    actions(o),
    el('h2', {}, 'Lines'),
    table([['#', 'num'], 'SKU', 'Product', ['Qty', 'num'], ['Unit price', 'num'], ['Net', 'num'], ['Tax', 'num'], ['Gross', 'num']], lines, { foot, class: 'order-lines' }));
}

async function main() {
  ctx = await boot('orders', {});
  const p = params();
  const id = p.get('id');
  if (!id || !/^\d+$/.test(id)) {
    notify('order-message', 'error', 'No order was named.');
    clear($('#order'));
    return ready();
  }
  if (p.get('placed')) notify('order-message', 'ok', `Order #${id} placed. A copy of it is in your order list.`);
  await render(id);
  ready();
}

main().catch(fail);

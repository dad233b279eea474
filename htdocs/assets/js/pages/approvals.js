// The approvals inbox: orders pending approval in the accounts the user
// approves for (the acting account and below), with approve / reject.
import { api } from '../api.js';
import { boot, ready, fail } from '../layout.js';
import { el, $, clear, money, when, notify, errorText, table } from '../ui.js';
import { orderAction } from '../order-actions.js';

let ctx;

async function load() {
  const box = $('#approvals');
  let data;
  try {
    data = await api('GET', '/orders?status=pending_approval&per_page=100');
  } catch (e) {
    clear(box);
    notify('approvals-message', 'error', 'The inbox could not be loaded: ' + errorText(e));
    return;
  }
  const items = (data.items || []).slice().sort((a, b) => String(a.created_at).localeCompare(String(b.created_at)));
  clear(box);
  if (!items.length) {
    box.append(el('p', { class: 'notice info', id: 'inbox-empty' }, 'Nothing waits for your approval.'));
    return;
  }
  box.append(table(['Order', 'PO number', 'Account', 'Placed by', ['Total', 'num'], 'Placed', 'Decision'], items.map((o) => {
    const mine = o.placed_by === ctx.me.user.username;
    const reason = el('input', { type: 'text', size: '18', maxlength: '2000', id: 'reason-' + o.id, 'aria-label': `Reason for order #${o.id}`, placeholder: 'Reason (to reject)' });
    const act = async (action, button) => {
      if (action === 'reject' && !reason.value.trim()) { notify('approvals-message', 'error', `Give a reason to reject order #${o.id}.`); reason.focus(); return; }
      button.disabled = true;
      try {
        await orderAction(o.id, action, reason.value.trim());
        notify('approvals-message', 'ok', `Order #${o.id} ${action === 'approve' ? 'approved' : 'rejected'}.`);
        await load();
      } catch (e) {
        notify('approvals-message', 'error', `Order #${o.id}: ${errorText(e)}`);
        button.disabled = false;
      }
    };
    const approve = el('button', { type: 'button', class: 'small', dataset: { id: o.id, action: 'approve' }, disabled: mine }, 'Approve');
    const reject = el('button', { type: 'button', class: 'small danger', dataset: { id: o.id, action: 'reject' }, disabled: mine }, 'Reject');
    approve.addEventListener('click', () => act('approve', approve));
    reject.addEventListener('click', () => act('reject', reject));
    return el('tr', { dataset: { id: o.id } },
      el('td', {}, el('a', { href: '/order.html?id=' + o.id }, '#' + o.id)),
      el('td', {}, o.po_number), el('td', { class: 'mono' }, o.account), el('td', {}, o.placed_by),
      el('td', { class: 'num price' }, money(o.totals && o.totals.gross)), el('td', { class: 'nowrap' }, when(o.created_at)),
      el('td', { class: 'nowrap' }, mine ? el('span', { class: 'subtle' }, 'your own order') : [reason, ' ', approve, ' ', reject]));
  }), { class: 'approvals' }));
}

async function main() {
  ctx = await boot('approvals', { account: true });
  if (!ctx.canApprove) {
    clear($('#approvals'));
    notify('approvals-message', 'info', 'Your user does not approve orders.');
    return ready();
  }
  await load();
  ready();
}

main().catch(fail);

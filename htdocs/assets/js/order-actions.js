// Approve, reject and cancel: POST /orders/{id}/{action} with an optional
// {"reason"}. Shared by the order page and the approvals inbox.
import { api } from './api.js';

export async function orderAction(id, action, reason) {
  const opts = reason ? { body: { reason } } : {};
  return api('POST', `/orders/${encodeURIComponent(id)}/${action}`, opts);
}

export const CANCELLABLE = new Set(['pending_approval', 'queued']);

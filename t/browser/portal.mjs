// The portal site in a real browser (Debian's chromium), end to end against
// the test httpd: the scenarios of issue 7. Prints TAP; t/browser.t runs it.
//   B2B_BASE_URL=http://127.0.0.1:8529 node t/browser/portal.mjs
import { launch, closeBrowser, newUser, usePage, login, go, pageReady, shot, step, skip, scenario, done, diag, expect,
  apiBasic, until, BASE } from './lib.mjs';

const CSV = 'sku,qty\nSKU-00100,200\nSKU-99999,1\nSKU-00005,abc\n';
const NA_CONTRACT_SKU = 'SKU-00042';
let orderId = null;
let contractRule = null;        // the ACME-NA contract on SKU-00042, to restore
let catalogReady = false;
let queueReady = false;
let queueDrained = false;
const ERP_SIM = process.env.B2B_ERP_PORT ? `http://127.0.0.1:${process.env.B2B_ERP_PORT}` : null;

async function sim(mode) {
  const res = await fetch(ERP_SIM + '/_sim/mode', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ mode }) });
  if (!res.ok) throw new Error(`ERP simulator mode ${mode}: HTTP ${res.status}`);
}

async function skipUnlessCatalog(name, fn) {
  if (!catalogReady) return skip(name, 'the catalog endpoints (GET /catalog/...) are not on this server yet');
  return step(name, fn);
}

async function priceOnProductPage(page) {
  await go(page, '/product.html?sku=' + NA_CONTRACT_SKU);
  return (await page.locator('#unit-price').innerText()).trim();
}

async function main() {
  // Known state: empty carts, the demo contract price, whether the catalog is there.
  for (const u of ['na-buyer', 'emea-buyer', 'acme-admin']) await apiBasic(u, 'DELETE', '/cart');
  const probe = await apiBasic('na-buyer', 'GET', '/catalog/products?per_page=1');
  catalogReady = probe.status === 200;
  if (!catalogReady) diag(`GET /api/v1/catalog/products answers ${probe.status}: catalog steps are skipped`);
  queueReady = (await apiBasic('portal-admin', 'GET', '/admin/queue?per_page=1')).status === 200;
  // the suite's own server may serve the queue without draining it
  // (B2BErpDrain Off: the ERP tests drain with nodes of their own)
  const st = await apiBasic('portal-admin', 'GET', '/admin/status');
  queueDrained = !!(st.json && st.json.erp && st.json.erp.draining);
  const rules = await apiBasic('portal-admin', 'GET', `/admin/price-rules?kind=contract&account=ACME-NA&sku=${NA_CONTRACT_SKU}`);
  contractRule = (rules.json && rules.json.items || [])[0] || null;
  diag(`the ACME-NA contract on ${NA_CONTRACT_SKU}: ${contractRule ? '#' + contractRule.id + ' ' + contractRule.price.amount : 'not found'}`);

  await launch();
  const buyer = await newUser();

  scenario('na-buyer logs in, searches, adds to cart, imports a CSV with a bad line, checks out an order needing approval');
  await step('an anonymous visitor is sent to the login form', async () => {
    await buyer.goto(BASE + '/orders.html');
    await buyer.waitForURL(/\/login\.html\?next=/);
    await shot(buyer, 'login');
  });
  await step('a wrong password is refused with a message', async () => {
    await buyer.getByLabel('User name').fill('na-buyer');
    await buyer.getByLabel('Password').fill('wrong');
    await Promise.all([buyer.waitForURL(/failed=1/), buyer.getByRole('button', { name: 'Log in' }).click()]);
    expect(await buyer.getByRole('alert').innerText().then((t) => /not right/.test(t)), 'an error message');
  });
  await step('na-buyer logs in and comes back to the page asked for', async () => {
    await buyer.getByLabel('User name').fill('na-buyer');
    await buyer.getByLabel('Password').fill('demo');
    await Promise.all([buyer.waitForURL(/\/orders\.html/), buyer.getByRole('button', { name: 'Log in' }).click()]);
    await pageReady(buyer);
    expect((await buyer.locator('#current-user').innerText()).length > 0, 'the user is named in the header');
    expect(/ACME-NA/.test(await buyer.locator('#acting-account').innerText()), 'acting for ACME-NA');
  });
  await step('the session cookie is not readable by page scripts', async () => {
    const cookies = await buyer.context().cookies();
    const c = cookies.find((x) => x.name === 'b2bportal_session');
    expect(c && c.httpOnly, 'an HttpOnly session cookie');
    expect(!(await buyer.evaluate(() => document.cookie)).includes('b2bportal_session'), 'document.cookie does not show it');
  });
  await skipUnlessCatalog('catalog: search finds products with ACME-NA prices and availability', async () => {
    await go(buyer, '/');
    await shot(buyer, 'catalog');
    await buyer.getByLabel('Search products').fill('screwdriver');
    await buyer.getByRole('button', { name: 'Search' }).click();
    await buyer.locator('#results-heading', { hasText: 'screwdriver' }).waitFor();
    const rows = buyer.locator('table.products tbody tr');
    await rows.first().waitFor();
    expect(await rows.count() > 0, 'results');
    const price = await rows.first().locator('td.price').innerText();
    expect(/USD/.test(price), 'USD prices, got ' + price);
    await shot(buyer, 'catalog-search');
  });
  await skipUnlessCatalog('catalog: the category tree filters and the pager pages', async () => {
    await go(buyer, '/');
    const link = buyer.locator('#category-tree a[data-code]:not([data-code=""])').nth(1);
    const name = (await link.innerText()).replace(/\s*\(\d+\)$/, '');
    await link.click();
    await buyer.locator('#results-heading', { hasText: name }).waitFor();
    expect(/category=/.test(buyer.url()), 'the category is in the URL');
    await go(buyer, '/');
    const next = buyer.getByRole('button', { name: /Next/ });
    await next.click();
    await buyer.getByText(/Page 2 of/).waitFor();
  });
  await skipUnlessCatalog(`catalog: add ${NA_CONTRACT_SKU} × 2 to the cart from the search results`, async () => {
    await go(buyer, '/?q=' + NA_CONTRACT_SKU);
    const row = buyer.locator(`table.products tr[data-sku="${NA_CONTRACT_SKU}"]`);
    await row.getByLabel(`Quantity of ${NA_CONTRACT_SKU}`).fill('2');
    await row.getByRole('button', { name: 'Add to cart' }).click();
    await buyer.getByRole('status').filter({ hasText: 'Added 2' }).waitFor();
  });
  await skipUnlessCatalog('product page: volume brackets and "explain this price" (list, then the contract)', async () => {
    expect(/17\.25 USD/.test(await priceOnProductPage(buyer)), 'the contract price 17.25 USD');
    await buyer.getByRole('button', { name: 'Explain this price' }).click();
    const steps = buyer.locator('table.explain tbody tr');
    await steps.first().waitFor();
    const text = await buyer.locator('table.explain').innerText();
    expect(/List price/.test(text) && /Contract/.test(text), 'list and contract steps: ' + text);
    await shot(buyer, 'product-explain');
    await go(buyer, '/product.html?sku=SKU-00005');
    expect(await buyer.locator('table.brackets tbody tr').count() > 1, 'SKU-00005 shows its volume brackets');
    await shot(buyer, 'product-brackets');
  });
  if (!catalogReady) {
    await step(`(no catalog) add ${NA_CONTRACT_SKU} × 2 through the pasted quick order`, async () => {
      await go(buyer, '/quick-order.html');
      await buyer.getByLabel(/SKUs and quantities/).fill(`${NA_CONTRACT_SKU} 2`);
      await buyer.getByRole('button', { name: 'Add pasted lines to cart' }).click();
      await buyer.locator('#import-message', { hasText: '1 line(s) added' }).waitFor();
    });
  }
  await step('quick order: a CSV with bad lines adds the good one and lists each rejected line with its reason', async () => {
    await go(buyer, '/quick-order.html');
    await buyer.getByLabel('CSV file').setInputFiles({ name: 'order.csv', mimeType: 'text/csv', buffer: Buffer.from(CSV) });
    await buyer.getByRole('button', { name: 'Upload CSV to cart' }).click();
    await buyer.locator('table.rejected').waitFor();
    const msg = await buyer.locator('#import-message').innerText();
    expect(/1 line\(s\) added/.test(msg) && /2 rejected/.test(msg), 'one added, two rejected: ' + msg);
    const rejected = await buyer.locator('table.rejected tbody tr').allInnerTexts();
    expect(rejected.some((r) => /SKU-99999/.test(r) && /No such product/.test(r)), 'the unknown SKU and why: ' + rejected);
    expect(rejected.some((r) => /abc/.test(r) && /Quantity/.test(r)), 'the bad quantity and why: ' + rejected);
    await shot(buyer, 'quick-order-rejected');
  });
  await step('cart: a quantity edit re-prices the line and the totals', async () => {
    await go(buyer, '/cart.html');
    const row = buyer.locator(`table.cart-lines tr[data-sku="${NA_CONTRACT_SKU}"]`);
    const qty = row.getByLabel(`Quantity of ${NA_CONTRACT_SKU}`);
    expect((await qty.inputValue()) === '2', 'qty 2 in the cart');
    await qty.fill('3');
    await qty.press('Enter');
    await buyer.getByRole('status').filter({ hasText: `${NA_CONTRACT_SKU}: quantity 3` }).waitFor();
    await pageReady(buyer);
    await buyer.locator(`table.cart-lines tr[data-sku="${NA_CONTRACT_SKU}"] td`, { hasText: '51.75 USD' }).first().waitFor();
    const gross = await buyer.locator('#total-gross').innerText();
    expect(/6,711\.75 USD/.test(gross), 'total 200 × 33.30 + 3 × 17.25 = 6,711.75 USD, got ' + gross);
    await shot(buyer, 'cart');
  });
  await step('checkout with a PO number places an order that needs approval', async () => {
    await buyer.getByRole('link', { name: 'Proceed to checkout' }).click();
    await pageReady(buyer);
    await buyer.getByLabel(/Purchase order number/).fill('PO-BROWSER-7');
    await shot(buyer, 'checkout');
    await Promise.all([buyer.waitForURL(/\/order\.html\?id=\d+/), buyer.getByRole('button', { name: 'Place order' }).click()]);
    await pageReady(buyer);
    orderId = new URL(buyer.url()).searchParams.get('id');
    const status = await buyer.locator('#order-status').innerText();
    expect(/pending approval/.test(status), 'status pending approval, got ' + status);
    expect(/PO-BROWSER-7/.test(await buyer.locator('#order-po').innerText()), 'the PO number');
    diag(`order #${orderId}`);
    await shot(buyer, 'order-placed');
  });
  await step('the order is in the order list, and the cart is empty', async () => {
    await go(buyer, '/orders.html');
    await buyer.locator(`table.orders tr[data-id="${orderId}"]`).waitFor();
    await shot(buyer, 'orders');
    await go(buyer, '/cart.html');
    await buyer.locator('#cart-empty').waitFor();
  });

  scenario('na-approver approves it; the order shows the new status');
  const approver = await newUser();
  await step('na-approver sees the order in the approvals inbox', async () => {
    await login(approver, 'na-approver', 'demo', '/approvals.html');
    await approver.locator(`table.approvals tr[data-id="${orderId}"]`).waitFor();
    await shot(approver, 'approvals');
  });
  await step('na-approver approves it', async () => {
    await approver.locator(`table.approvals tr[data-id="${orderId}"]`).getByRole('button', { name: 'Approve' }).click();
    await approver.getByRole('status').filter({ hasText: `Order #${orderId} approved` }).waitFor();
  });
  await step('the order page shows the new status and the history', async () => {
    await go(approver, '/order.html?id=' + orderId);
    const status = await approver.locator('#order-status').innerText();
    expect(!/pending/.test(status), 'no longer pending: ' + status);
    const history = await approver.locator('#history li').allInnerTexts();
    expect(history.length >= 2 && /pending approval/.test(history[0]), 'history from pending approval: ' + history.join(' | '));
    await shot(approver, 'order-approved');
  });
  await step('the buyer sees the new status on reload', async () => {
    usePage(buyer);
    await go(buyer, '/order.html?id=' + orderId);
    expect(!/pending/.test(await buyer.locator('#order-status').innerText()), 'the buyer sees it approved');
  });

  scenario("emea-buyer sees EUR prices and cannot open ACME-NA's order");
  const emea = await newUser();
  await step('emea-buyer logs in with the keyboard alone', async () => {
    await emea.goto(BASE + '/');
    await emea.waitForURL(/\/login\.html/);
    // the user name field has the focus; Tab to the password, Enter submits
    await emea.keyboard.type('emea-buyer');
    await emea.keyboard.press('Tab');
    await emea.keyboard.type('demo');
    await Promise.all([emea.waitForURL((u) => !/login\.html/.test(u.pathname)), emea.keyboard.press('Enter')]);
    await pageReady(emea);
    expect(/ACME-EMEA/.test(await emea.locator('#acting-account').innerText()), 'acting for ACME-EMEA');
  });
  await skipUnlessCatalog('the catalog shows EUR prices', async () => {
    await go(emea, '/?q=' + NA_CONTRACT_SKU);
    const price = await emea.locator(`table.products tr[data-sku="${NA_CONTRACT_SKU}"] td.price`).innerText();
    expect(/22\.90 EUR/.test(price), 'the EUR list price 22.90, got ' + price);
    await shot(emea, 'catalog-emea');
  });
  await step('the cart prices in EUR with VAT', async () => {
    await go(emea, '/quick-order.html');
    await emea.getByLabel(/SKUs and quantities/).fill(`${NA_CONTRACT_SKU},1`);
    await emea.getByRole('button', { name: 'Add pasted lines to cart' }).click();
    await emea.locator('#import-message', { hasText: '1 line(s) added' }).waitFor();
    await go(emea, '/cart.html');
    const gross = await emea.locator('#total-gross').innerText();
    expect(/27\.25 EUR/.test(gross), '22.90 EUR + 19 % VAT = 27.25 EUR, got ' + gross);
    await shot(emea, 'cart-emea');
    await apiBasic('emea-buyer', 'DELETE', '/cart');
  });
  await step("ACME-NA's order is not found for emea-buyer", async () => {
    await go(emea, '/order.html?id=' + orderId);
    const alert = await emea.getByRole('alert').innerText();
    expect(/does not exist or is not visible/.test(alert), 'not visible: ' + alert);
    expect(!(await emea.locator('#order-po').count()), 'no order details shown');
    await shot(emea, 'order-not-visible');
  });

  scenario('acme-admin switches between the accounts it acts for');
  const admin = await newUser();
  await step('acme-admin has an account switcher and switching re-prices the catalog', async () => {
    await login(admin, 'acme-admin', 'demo', '/cart.html');
    const options = await admin.locator('#account-switcher option').allInnerTexts();
    expect(options.length >= 3, 'ACME, ACME-NA and ACME-EMEA: ' + options);
    await Promise.all([admin.waitForEvent('load'), admin.getByLabel('Acting for').selectOption('ACME-EMEA')]);
    await pageReady(admin);
    expect(await admin.locator('#account-switcher').inputValue() === 'ACME-EMEA', 'acting for ACME-EMEA');
    await shot(admin, 'account-switcher');
  });
  await step('acme-admin issues the month\'s invoices at ACME, consolidating ACME-NA\'s order', async () => {
    await Promise.all([admin.waitForEvent('load'), admin.getByLabel('Acting for').selectOption('ACME')]);
    await go(admin, '/invoices.html');
    await admin.getByRole('button', { name: 'Issue invoices' }).click();
    await admin.getByRole('status').filter({ hasText: /invoice\(s\) issued|Nothing to invoice/ }).waitFor();
    const first = admin.locator('table.invoices tbody tr a').first();
    await first.waitFor();
    await shot(admin, 'invoices');
    await first.click();
    await pageReady(admin);
    const lines = await admin.locator('table.invoice-lines').innerText();
    expect(/PO-BROWSER-7/.test(lines) && /ACME-NA/.test(lines), 'the ACME-NA order is on ACME\'s invoice: ' + lines);
    await shot(admin, 'invoice');
  });

  scenario("portal-admin changes a contract price and the buyer's page shows it on reload");
  const operator = await newUser();
  await step('portal-admin lands on the status page', async () => {
    await login(operator, 'portal-admin');
    await operator.waitForURL(/\/admin\/status\.html/);
    await pageReady(operator);
    expect(/Pricing generation/.test(await operator.locator('#status-headline').innerText()), 'the pricing generation');
    await shot(operator, 'admin-status');
  });
  await step('the order queue page loads', async () => {
    await go(operator, '/admin/queue.html');
    await shot(operator, 'admin-queue');
  });
  if (!queueReady || !ERP_SIM || !queueDrained) {
    skip('a dead letter shows in the queue and an operator retries it',
      !queueReady ? 'the ERP queue endpoints (GET /admin/queue) are not on this server yet'
        : !ERP_SIM ? 'B2B_ERP_PORT is not set'
        : 'this server does not drain the queue (B2BErpDrain Off; t/erp_*.t cover dead letters and retry)');
  } else {
    await step('a dead letter shows in the queue with its error, and Retry delivers it', async () => {
      // The ERP refuses orders for a moment: the next order goes to the dead letter.
      await sim('reject');
      let dead = null;
      try {
        await apiBasic('west-buyer', 'DELETE', '/cart');
        await apiBasic('west-buyer', 'POST', '/cart/lines', { sku: 'SKU-00001', qty: 1 });
        const o = await apiBasic('west-buyer', 'POST', '/orders', { po_number: 'PO-DEAD-LETTER' }, { 'Idempotency-Key': 'browser-dead-' + Date.now() });
        expect(o.status === 201, 'an order to send: HTTP ' + o.status + ' ' + o.text);
        dead = await until(20, async () => {
          const q = await apiBasic('portal-admin', 'GET', '/admin/queue?state=dead&order=' + o.json.id);
          return q.json && q.json.items && q.json.items[0];
        });
        expect(dead, `order #${o.json.id} reaches the dead letter`);
      } finally {
        await sim('ok');
      }
      await go(operator, '/admin/queue.html?state=dead');
      const row = operator.locator(`table.queue tr[data-id="${dead.id}"]`);
      await row.waitFor();
      const text = await row.innerText();
      expect(/dead/.test(text) && /failed/.test(text), 'dead, order failed: ' + text);
      await shot(operator, 'admin-queue-dead-letter');
      await row.getByRole('button', { name: `Retry entry ${dead.id}` }).click();
      await operator.getByRole('status').filter({ hasText: 'queued again' }).waitFor();
      const delivered = await until(20, async () => {
        await go(operator, '/admin/queue.html');
        const t = await operator.locator(`table.queue tr[data-id="${dead.id}"]`).innerText();
        return /done/.test(t) ? t : null;
      });
      expect(delivered, 'the retried entry is delivered');
      await shot(operator, 'admin-queue-retried');
    });
  }
  let before = null;
  await skipUnlessCatalog('the buyer sees the contract price before the change', async () => {
    usePage(buyer);
    before = await priceOnProductPage(buyer);
    expect(/17\.25 USD/.test(before), 'the demo contract 17.25 USD, got ' + before);
  });
  await step('portal-admin previews a new contract price: 17.25 now, 16.95 after', async () => {
    expect(contractRule, 'the demo contract rule exists');
    usePage(operator);
    await go(operator, `/admin/price-rules.html?kind=contract&account=ACME-NA&sku=${NA_CONTRACT_SKU}`);
    await operator.getByRole('button', { name: `Edit rule #${contractRule.id}` }).click();
    await operator.getByLabel(/^Price/).fill('16.95');
    expect(await operator.getByRole('button', { name: 'Publish' }).isDisabled(), 'Publish waits for a preview');
    await operator.getByRole('button', { name: 'Preview change' }).click();
    const sample = operator.locator('table.samples tr', { hasText: 'ACME-NA' }).first();
    await sample.waitFor();
    const t = await sample.innerText();
    expect(/17\.25 USD/.test(t) && /16\.95 USD/.test(t), 'before and after in the sample: ' + t);
    await shot(operator, 'admin-price-rule-preview');
  });
  await step('portal-admin publishes it', async () => {
    await operator.getByRole('button', { name: 'Publish' }).click();
    await operator.getByRole('status').filter({ hasText: 'published' }).waitFor();
    await shot(operator, 'admin-price-rules');
  });
  await step("the buyer's page shows the new price on reload", async () => {
    usePage(buyer);
    if (catalogReady) {
      const now = await until(15, async () => { const p = await priceOnProductPage(buyer); return /16\.95 USD/.test(p) ? p : null; });
      expect(now, 'the product page shows 16.95 USD');
    } else {
      // Without the catalog, the cart is the buyer's priced page.
      await go(buyer, '/quick-order.html');
      await buyer.getByLabel(/SKUs and quantities/).fill(`${NA_CONTRACT_SKU} 1`);
      await buyer.getByRole('button', { name: 'Add pasted lines to cart' }).click();
      await buyer.locator('#import-message', { hasText: '1 line(s) added' }).waitFor();
      const now = await until(15, async () => {
        await go(buyer, '/cart.html');
        return /16\.95 USD/.test(await buyer.locator(`table.cart-lines tr[data-sku="${NA_CONTRACT_SKU}"]`).innerText());
      });
      expect(now, 'the cart shows 16.95 USD');
    }
    await shot(buyer, 'buyer-after-price-change');
  });
  await step('logging out ends the session', async () => {
    await buyer.getByRole('button', { name: 'Log out' }).click();
    await buyer.waitForURL(/login\.html\?out=1/);
    await buyer.goto(BASE + '/cart.html');
    await buyer.waitForURL(/\/login\.html/);
  });
}

let failures = 0;
try {
  await main();
} catch (e) {
  diag('aborted: ' + (e && e.stack ? e.stack : e));
  failures += 1;
} finally {
  // Leave the demo data as the other tests expect it.
  if (contractRule) {
    const r = await apiBasic('portal-admin', 'PUT', '/admin/price-rules/' + contractRule.id, contractRule).catch((e) => ({ status: String(e) }));
    diag(`restored contract #${contractRule.id} to ${contractRule.price.amount}: HTTP ${r.status}`);
  }
  for (const u of ['na-buyer', 'emea-buyer', 'acme-admin', 'west-buyer']) await apiBasic(u, 'DELETE', '/cart').catch(() => {});
  // An order the ERP has not taken yet gives its stock and credit back, so
  // the scenarios can run again on the same data.
  if (orderId) await apiBasic('na-buyer', 'POST', `/orders/${orderId}/cancel`, { reason: 'browser test cleanup' }).catch(() => {});
  if (ERP_SIM && queueReady) await sim('ok').catch(() => {});
  await closeBrowser().catch(() => {});
}
failures += done();
process.exit(failures ? 1 : 0);

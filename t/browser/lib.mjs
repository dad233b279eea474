// Helpers for the browser tests: TAP output, Debian's chromium through
// playwright-core, logging in through the site's form, screenshots, and a
// Basic-auth client for setting up and cleaning up through /api/v1.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

export const BASE = (process.env.B2B_BASE_URL || 'http://127.0.0.1:8529').replace(/\/$/, '');
export const SHOTS = process.env.B2B_SCREENSHOTS || 't/logs/screenshots';
const CHROMIUM = process.env.B2B_CHROMIUM || '/usr/bin/chromium';
export const TIMEOUT = Number(process.env.B2B_BROWSER_TIMEOUT_MS || 15000);

// ---- TAP ---------------------------------------------------------------
let n = 0, failed = 0;
let blocked = null;           // a failed step blocks the rest of its scenario
export function diag(...lines) {
  for (const l of lines.join(' ').split('\n')) process.stdout.write('# ' + l + '\n');
}
export function scenario(name) {
  blocked = null;
  diag('');
  diag('scenario: ' + name);
}
export async function step(name, fn) {
  n += 1;
  if (blocked) {
    failed += 1;
    process.stdout.write(`not ok ${n} - ${name}\n`);
    diag(`  not run: "${blocked}" failed before it`);
    return undefined;
  }
  try {
    const v = await fn();
    process.stdout.write(`ok ${n} - ${name}\n`);
    return v;
  } catch (e) {
    failed += 1;
    blocked = name;
    process.stdout.write(`not ok ${n} - ${name}\n`);
    diag('  ' + String(e && e.stack ? e.stack : e).split('\n').slice(0, 6).join('\n  '));
    if (currentPage) await shot(currentPage, 'FAILED-' + n).catch(() => {});
    return undefined;
  }
}
// A step that cannot run on this server: TAP "ok ... # SKIP why".
export function skip(name, why) {
  n += 1;
  process.stdout.write(`ok ${n} - ${name} # SKIP ${why}\n`);
}
export function done() {
  process.stdout.write(`1..${n}\n`);
  return failed;
}

export function expect(cond, what) {
  if (!cond) throw new Error('expected: ' + what);
}

// ---- the browser -----------------------------------------------------------
let browser;
let currentPage = null;
export async function launch() {
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
  return browser;
}
export async function closeBrowser() { if (browser) await browser.close(); }

// A fresh browser profile (cookies, storage) for one user.
export async function newUser() {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, baseURL: BASE, locale: 'en-GB' });
  context.setDefaultTimeout(TIMEOUT);
  const page = await context.newPage();
  page.on('pageerror', (e) => diag(`  page error on ${page.url()}: ${e.message}`));
  // "Failed to load resource" is Chrome noting a 4xx answer, which several
  // steps expect (a hidden order is a 404); the pages report those themselves.
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) diag(`  console error on ${page.url()}: ${m.text()}`);
  });
  currentPage = page;
  return page;
}
export function usePage(page) { currentPage = page; }

// Waits until the page's script says its data is on screen.
export async function pageReady(page) {
  await page.waitForFunction(() => document.body && (document.body.dataset.ready === 'true' || document.body.dataset.ready === 'error'));
  const state = await page.evaluate(() => document.body.dataset.ready);
  if (state !== 'true') {
    const text = await page.locator('main').innerText().catch(() => '');
    throw new Error('the page reported an error: ' + text.slice(0, 300));
  }
}

export async function go(page, path) {
  await page.goto(BASE + path);
  await pageReady(page);
}

export async function login(page, user, password = 'demo', path = '/') {
  await page.goto(BASE + path);
  await page.waitForURL(/\/login\.html/);
  await page.getByLabel('User name').fill(user);
  await page.getByLabel('Password').fill(password);
  await Promise.all([page.waitForURL((u) => !/login\.html/.test(u.pathname)), page.getByRole('button', { name: 'Log in' }).click()]);
  await pageReady(page);
}

// Every form control a person can reach has a name a screen reader reads
// out (a <label>, aria-label or aria-labelledby), and every button says
// what it does. Checked on every page a screenshot is taken of.
export async function checkLabels(page) {
  const unnamed = await page.evaluate(() => {
    const out = [];
    for (const e of document.querySelectorAll('input, select, textarea, button')) {
      if (e.type === 'hidden' || e.closest('[hidden]') || e.offsetParent === null) continue;
      const named = (e.labels && e.labels.length) || e.getAttribute('aria-label') || e.getAttribute('aria-labelledby')
        || (e.tagName === 'BUTTON' && e.textContent.trim());
      if (!named) out.push(e.outerHTML.slice(0, 120));
    }
    if (!document.documentElement.lang) out.push('<html> without lang');
    if (!document.querySelector('main')) out.push('no <main> landmark');
    return out;
  });
  if (unnamed.length) throw new Error('controls without an accessible name: ' + unnamed.join(' | '));
}

let shotNo = 0;
export async function shot(page, name) {
  if (!name.startsWith('FAILED')) await checkLabels(page);
  mkdirSync(SHOTS, { recursive: true });
  shotNo += 1;
  const file = join(SHOTS, `${String(shotNo).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  diag(`  screenshot ${file}`);
  return file;
}

// ---- the JSON API with HTTP Basic (setup and cleanup only) ----------------
export async function apiBasic(user, method, path, body, extra = {}) {
  const headers = { Authorization: 'Basic ' + Buffer.from(`${user}:demo`).toString('base64'), Accept: 'application/json', ...extra };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(BASE + '/api/v1' + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, json, text };
}

export async function until(secs, fn) {
  const end = Date.now() + secs * 1000;
  for (;;) {
    const v = await fn();
    if (v || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 250));
  }
}

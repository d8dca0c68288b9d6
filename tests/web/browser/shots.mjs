// tests/web/browser/shots.mjs - the configuration tool's main pages in
// headless Chromium, saved as PNGs (tests/web/run.sh sets the tool up,
// installs playwright-core with npm ci, and calls this).
//
// Environment: URL (lvs-web), WEB_USER / WEB_PASSWORD (an admin),
// WEB_SHOTS (directory for the PNGs), CHROMIUM_PROFILE (a fresh profile
// directory), WEB_LVSD_PID (the pid of the lvsd -t that run.sh started;
// pulse -t runs too), CHROMIUM (default /usr/bin/chromium).
//
// Logs in through the login form, then opens each page, checks that it
// rendered (HTTP 200, its heading, no error page or template failure, the
// stylesheet applied) and saves a full-page PNG. Before CHANGES it stages
// an edit through a panel form (a browser POST: Origin and CSRF token), so
// that page shows a diff. One "ok"/"FAIL" line per page, then
// "web (screenshots): N passed, M failed"; exit status 1 on any failure.
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const env = (name) => {
  const v = process.env[name];
  if (!v) {
    console.error(`shots.mjs: ${name} is not set`);
    process.exit(2);
  }
  return v;
};
const base = env('URL');
const user = env('WEB_USER');
const password = env('WEB_PASSWORD');
const outDir = env('WEB_SHOTS');
const profile = env('CHROMIUM_PROFILE');
const lvsdPid = env('WEB_LVSD_PID');
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';

// A screenshot over this is a layout gone wrong (or a far too long page).
const MAX_PNG = 300 * 1024;
// Each navigation's and action's deadline.
const STEP_MS = 10_000;

let passed = 0;
let failed = 0;
const ok = (what) => { passed++; console.log(`ok    ${what}`); };
const fail = (what, why) => { failed++; console.log(`FAIL  ${what}: ${why}`); };

// The pages, in the order a visit would take; `before` runs on the page
// before its screenshot (after the checks of the previous one). `expect`
// must be in the page's text, `absent` must not.
const pages = [
  // lvsd -t and pulse -t: lvsd installs nothing and checks nothing, pulse
  // is a backup that never heard its primary.
  { file: 'status.png', path: '/status', heading: 'CONTROL/MONITORING',
    expect: ['backup (inactive)', 'no heartbeat yet', `pid ${lvsdPid}, 0 reloads`,
      'virtual ftp: FWM 21 rr', '192.0.2.31:21', '[not installed]', 'no check yet'],
    absent: ['not running', 'unreachable'] },
  { file: 'global-settings.png', path: '/panel/global', heading: 'GLOBAL SETTINGS',
    expect: ['Primary server public IP'], values: ['203.0.113.2', 'eth1:1'] },
  { file: 'redundancy.png', path: '/panel/redundancy', heading: 'REDUNDANCY',
    expect: [], values: ['203.0.113.3'] },
  { file: 'virtual-servers.png', path: '/panel/virtuals', heading: 'VIRTUAL SERVERS',
    expect: ['www-tls', 'ftp'] },
  { file: 'virtual-server.png', path: '/panel/virtual/www', heading: 'VIRTUAL SERVER: www',
    expect: ['Scheduling', 'Persistence'], values: ['203.0.113.10', '192.0.2.250'] },
  // The send string holds & and < >: the field must show them as typed
  // in lvs.cf, neither raw markup nor escaped twice.
  { file: 'monitoring-scripts.png', path: '/panel/virtual/www/monitoring',
    heading: 'EDIT MONITORING SCRIPTS: www', expect: [],
    values: ['GET /health?a=1&b=<2> HTTP/1.0\\r\\nHost: shop.example\\r\\n\\r\\n'] },
  { file: 'real-servers.png', path: '/panel/virtual/www/servers', heading: 'REAL SERVER: www',
    expect: ['web1', 'web2'] },
  { file: 'real-server.png', path: '/panel/virtual/www/server/web1',
    heading: 'EDIT REAL SERVER: web1 (www)', expect: ['Weight'], values: ['192.0.2.11', '100'] },
  { file: 'changes.png', path: '/changes', heading: 'Changes',
    expect: ['lvs.cf diff', 'weight = 60'],
    before: stageEdit },
  { file: 'history.png', path: '/history', heading: 'History', expect: ['Revision'],
    rows: 'td.when' },
];

// web1 of www-tls: weight 3 -> 60, typed into its form and ACCEPTed.
async function stageEdit(page) {
  await page.goto(`${base}/panel/virtual/www-tls/server/web1`, { timeout: STEP_MS });
  await page.getByLabel('Weight', { exact: true }).fill('60');
  await Promise.all([
    page.waitForURL(/msg=staged/, { timeout: STEP_MS }),
    page.getByRole('button', { name: 'ACCEPT' }).click(),
  ]);
}

// What the body says when the page is one of lvs-web's failures.
const ERROR_MARKS = ['template failure', 'Internal Server Error', 'Bad Gateway',
  'no such page', 'not logged in', 'Forbidden'];

async function checkPage(page, p, response) {
  if (!response) throw new Error('no response');
  if (response.status() !== 200) throw new Error(`HTTP ${response.status()}`);
  const h2 = (await page.locator('main h2').first().textContent({ timeout: STEP_MS }))?.trim();
  if (h2 !== p.heading) throw new Error(`heading "${h2}", expected "${p.heading}"`);
  const text = await page.locator('body').innerText();
  for (const m of ERROR_MARKS) {
    if (text.includes(m)) throw new Error(`the page says "${m}"`);
  }
  for (const e of p.expect) {
    if (!text.includes(e)) throw new Error(`"${e}" is not on the page`);
  }
  for (const a of p.absent ?? []) {
    if (text.includes(a)) throw new Error(`the page says "${a}"`);
  }
  // Form fields' values are not in the text: read them.
  const values = await page.locator('input').evaluateAll((es) => es.map((e) => e.value));
  for (const v of p.values ?? []) {
    if (!values.includes(v)) throw new Error(`no field holds "${v}"`);
  }
  const bad = await page.evaluate(layoutProblems);
  if (bad.length) throw new Error(`layout: ${bad.slice(0, 3).join('; ')}${bad.length > 3 ? ` (+${bad.length - 3} more)` : ''}`);
  if (p.rows) {
    const n = await page.locator(p.rows).count();
    if (n === 0) throw new Error(`no "${p.rows}" on the page to check`);
  }
  // The stylesheet arrived and applies (CSP allows 'self' only): the tab
  // bar is laid out by it, not a bulleted list.
  const listStyle = await page.locator('nav ul.tabs').evaluate((e) => getComputedStyle(e).listStyleType);
  if (listStyle !== 'none') throw new Error(`tab bar not styled (list-style ${listStyle})`);
}

// Runs in the page: what is laid out wrong, as sentences.
// - A field's input (or first radio), its notes and its help start at one
//   left edge, and a note that wraps stays in that column (not under the
//   label).
// - A text field shows its whole value (a send string is not cut off).
// - HISTORY's timestamps and row links are on one line.
function layoutProblems() {
  const out = [];
  const left = (e) => e.getBoundingClientRect().left;
  for (const f of document.querySelectorAll('.field')) {
    const help = f.querySelector('div.help');
    const input = f.querySelector('input:not([type="hidden"]), select');
    if (!help || !input) continue;
    const name = input.name || input.id;
    const col = left(help);
    if (Math.abs(left(input) - col) > 1) {
      out.push(`${name}: input at x=${Math.round(left(input))}, help at x=${Math.round(col)}`);
    }
    for (const n of f.querySelectorAll('.diag-note, .runs-as-root, .default')) {
      for (const r of n.getClientRects()) {
        if (r.left < col - 1) out.push(`${name}: "${n.textContent.slice(0, 30)}" runs under the label (x=${Math.round(r.left)})`);
      }
    }
  }
  for (const i of document.querySelectorAll('input[type="text"]')) {
    if (i.value && i.scrollWidth > i.clientWidth + 1) {
      out.push(`${i.name}: value cut off (${i.scrollWidth} px in ${i.clientWidth} px)`);
    }
  }
  for (const c of document.querySelectorAll('td.when, .links a')) {
    const range = document.createRange();
    range.selectNodeContents(c);
    const lines = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
    if (lines.size > 1) out.push(`"${c.textContent}" wraps over ${lines.size} lines`);
  }
  return out;
}

async function main() {
  mkdirSync(outDir, { recursive: true });
  rmSync(profile, { recursive: true, force: true });
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    chromiumSandbox: false,
    args: ['--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1000, height: 720 },
    deviceScaleFactor: 1,
  });
  const errors = [];
  try {
    const page = context.pages()[0] ?? await context.newPage();
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    page.on('pageerror', (e) => errors.push(String(e)));

    // Log in through the form: a browser POST with its Origin.
    try {
      await page.goto(`${base}/login`, { timeout: STEP_MS });
      await page.screenshot({ path: join(outDir, 'login.png') });
      await page.getByLabel('User name').fill(user);
      await page.getByLabel('Password').fill(password);
      const [post] = await Promise.all([
        page.waitForResponse((r) => r.request().method() === 'POST', { timeout: STEP_MS }),
        page.getByRole('button', { name: 'Login' }).click(),
      ]);
      await page.waitForLoadState('load', { timeout: STEP_MS });
      if (new URL(page.url()).pathname !== '/status') {
        const sent = await post.request().allHeaders();
        const said = (await page.locator('main').innerText()).replace(/\s+/g, ' ').trim();
        throw new Error(`POST /login answered ${post.status()} "${said}" (the browser sent Origin: ${sent.origin ?? '(none)'})`);
      }
      ok(`login as ${user} through the form`);
    } catch (e) {
      fail(`login as ${user} through the form`, e.message.split('\n')[0]);
      return;
    }

    for (const p of pages) {
      const what = `${p.path} -> ${p.file}`;
      try {
        if (p.before) await p.before(page);
        errors.length = 0;
        const response = await page.goto(`${base}${p.path}`, { timeout: STEP_MS });
        await checkPage(page, p, response);
        if (errors.length) throw new Error(`console: ${errors.join('; ')}`);
        const file = join(outDir, p.file);
        rmSync(file, { force: true });
        await page.screenshot({ path: file, fullPage: true });
        const size = statSync(file).size;
        if (size < 5 * 1024) throw new Error(`${file} is only ${size} bytes`);
        if (size > MAX_PNG) throw new Error(`${file} is ${size} bytes (over ${MAX_PNG})`);
        ok(`${what} (${Math.round(size / 1024)} KiB)`);
      } catch (e) {
        fail(what, e.message.split('\n')[0]);
      }
    }
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

try {
  await main();
} catch (e) {
  fail('chromium', e.message.split('\n')[0]);
}
console.log(`web (screenshots): ${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);

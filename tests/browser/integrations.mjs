// Real-browser end-to-end test of the embedded integration flows through `bink-proxy dev`:
// sign in, open /integrations/ui, connect one Kombo integration (with the REAL npm package
// @kombo-api/connect@1.3.0, served in place of the sandbox's copy), reconnect it in place
// (Kombo's relink), connect one Bindbee integration through the sandbox's stand-in for
// Bindbee's initialize.min.js (the real script's API: initialize → open → success →
// destroy, its widget posting JSON strings), see both listed, disconnect one.
// Exit code 0 when every check passes, 1 with a "FAIL: ..." message otherwise.
// SCREENSHOTS=<dir> also saves the README's pictures there (docs/screenshots).

import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..', '..');
const binPath = path.resolve(repoRoot, process.env.BINK_PROXY_BIN || 'target/debug/bink-proxy');
const realKombo = createRequire(import.meta.url).resolve('@kombo-api/connect/dist/index.js');
const STEP = 15_000;

let dev = null;
let browser = null;
let output = '';

function fail(message) {
  throw new Error(message);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function startDev(port) {
  return new Promise((resolve, reject) => {
    dev = spawn(binPath, ['dev', '--port', String(port)], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    const timer = setTimeout(() => reject(new Error('bink-proxy dev did not start within 20 s')), 20_000);
    dev.stdout.on('data', (chunk) => {
      output += chunk;
      if (/Open http:\/\/127\.0\.0\.1:\d+\//.test(output)) {
        clearTimeout(timer);
        resolve(`http://127.0.0.1:${port}`);
      }
    });
    dev.stderr.on('data', (chunk) => { output = (output + chunk).slice(-32_000); });
    dev.on('exit', (code) => { clearTimeout(timer); reject(new Error(`bink-proxy dev exited (${code})`)); });
  });
}

async function rows(page) {
  return page.$$eval('#integrations tr', (trs) =>
    trs.map((tr) => ({ id: tr.dataset.integration, cells: [...tr.cells].map((c) => c.textContent.trim()) })));
}

/** Clicks a provider's Connect button and the vendor page's button inside its iframe. */
async function connect(page, provider, vendorButton) {
  const started = performance.now();
  await page.click(`#connect-${provider}`);
  const frame = page.frameLocator('iframe').first();
  await frame.locator(vendorButton).click({ timeout: STEP });
  // connect.js reloads the page once the proxy has stored the integration.
  await page.waitForFunction(
    (p) => [...document.querySelectorAll('#integrations tr')].some((tr) => tr.cells[0].textContent.trim() === p),
    provider,
    { timeout: STEP },
  );
  return Math.round(performance.now() - started);
}

async function main() {
  const base = await startDev(await freePort());
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext();
  // The real Kombo Connect package instead of the sandbox's copy of it.
  let realKomboServed = 0;
  await context.route('**/kombo/sdk.js', (route) => {
    realKomboServed += 1;
    return route.fulfill({ path: realKombo, contentType: 'text/javascript' });
  });
  // Count what the page loads of the Bindbee stand-in, and how connect.js drives it.
  let bindbeeScriptServed = 0;
  await context.route('**/bindbee/initialize.min.js', (route) => {
    bindbeeScriptServed += 1;
    return route.continue();
  });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP);
  // Each BindbeeEmbed call connect.js makes, recorded on this side (the page reloads).
  const bindbeeCalls = [];
  await page.exposeFunction('__recordBindbee', (name, args) => { bindbeeCalls.push({ name, args }); });
  await page.addInitScript(() => {
    let embed;
    Object.defineProperty(window, 'BindbeeEmbed', {
      configurable: true,
      get() { return embed; },
      set(value) {
        embed = {};
        for (const name of Object.keys(value)) {
          embed[name] = (...args) => {
            window.__recordBindbee(name, args.map((a) => (a && typeof a === 'object' ? Object.keys(a).sort() : a)));
            return value[name](...args);
          };
        }
      },
    });
  });

  await page.goto(`${base}/integrations/ui`);
  if (!(await page.title()).includes('Sign in with Bink')) fail(`expected the Bink page, got "${await page.title()}"`);
  await page.click('button[name=decision][value=approve][data-user="cleo"]');
  await page.waitForURL(`${base}/integrations/ui`);
  if ((await page.textContent('h1')) !== 'Integrations') fail('the integrations page did not render');
  if ((await rows(page)).length !== 0) fail('a fresh organization has no integrations');
  console.log('PASS signed in as cleo and opened /integrations/ui');

  await page.selectOption('form[data-provider=kombo] select[name=category]', 'HRIS');
  await page.fill('form[data-provider=kombo] input[name=slug]', 'personio');
  const komboMs = await connect(page, 'kombo', '#kombo-connect');
  if (realKomboServed < 1) fail('the real @kombo-api/connect package was not used');
  console.log(`PASS Kombo connected through the real @kombo-api/connect (${komboMs} ms)`);

  // Reconnect Kombo in place: relink, the real package again, the same record.
  const before = (await rows(page)).find((r) => r.cells[0] === 'kombo');
  const reloaded = page.waitForEvent('framenavigated', (f) => f === page.mainFrame());
  await page.click(`button.reconnect[data-id="${before.id}"]`);
  await page.frameLocator('iframe').first().locator('#kombo-connect').click({ timeout: STEP });
  await reloaded;
  await page.waitForSelector('#integrations');
  const afterRelink = await rows(page);
  if (afterRelink.length !== 1 || afterRelink[0].id !== before.id) {
    fail(`reconnect must keep the one record ${before.id}: ${JSON.stringify(afterRelink)}`);
  }
  if (realKomboServed < 2) fail('the reconnect did not run through the real @kombo-api/connect');
  console.log('PASS Kombo reconnected in place (relink): same record, no duplicate');

  await page.fill('form[data-provider=bindbee] input[name=slug]', 'bamboohr');
  const bindbeeMs = await connect(page, 'bindbee', '#bindbee-connect');
  if (bindbeeScriptServed < 1) fail('the Bindbee initialize.min.js stand-in was not loaded');
  const sequence = bindbeeCalls.map((c) => c.name).join(' → ');
  if (sequence !== 'initialize → open → destroy') fail(`BindbeeEmbed calls: ${sequence}`);
  const init = JSON.stringify(bindbeeCalls[0].args[0]);
  if (init !== JSON.stringify(['linkToken', 'onClose', 'onSuccess', 'serverUrl'])) fail(`initialize({${init}})`);
  if (bindbeeCalls[1].args.length !== 0) fail('open() takes no arguments');
  console.log(`PASS Bindbee connected through the initialize.min.js stand-in (${bindbeeMs} ms)`);

  const listed = await rows(page);
  if (listed.length !== 2) fail(`expected 2 integrations, got ${JSON.stringify(listed)}`);
  const kombo = listed.find((r) => r.cells[0] === 'kombo');
  if (!kombo || kombo.cells[1] !== 'HRIS' || kombo.cells[2] !== 'personio') fail(`bad kombo row ${JSON.stringify(kombo)}`);
  const bindbee = listed.find((r) => r.cells[0] === 'bindbee');
  if (!bindbee || bindbee.cells[2] !== 'bamboohr') fail(`bad bindbee row ${JSON.stringify(bindbee)}`);
  const html = await page.content();
  if (/ct_[A-Za-z0-9]/.test(html)) fail('a connector token reached the page');
  console.log('PASS both integrations listed, no credential in the page');
  if (process.env.SCREENSHOTS) await page.screenshot({ path: path.join(process.env.SCREENSHOTS, 'integrations-ui.png') });

  await page.click(`button.disconnect[data-id="${kombo.id}"]`);
  await page.waitForFunction(() => document.querySelectorAll('#integrations tr').length === 1, null, { timeout: STEP });
  const left = await rows(page);
  if (left.length !== 1 || left[0].cells[0] !== 'bindbee') fail(`after disconnect: ${JSON.stringify(left)}`);
  const api = await page.evaluate(() => fetch('/integrations').then((r) => r.json()));
  if (api.integrations.length !== 1) fail(`the API disagrees: ${JSON.stringify(api)}`);
  console.log('PASS disconnected Kombo; Bindbee remains');

  // The demo application reads the connected HRIS's employees through the gateway.
  await page.goto(`${base}/`);
  const employees = await page.$$eval('#hr ~ table tbody tr', (trs) => trs.map((tr) => tr.cells[0].textContent));
  if (employees.length < 5) fail(`the demo page shows no employees read through the gateway: ${JSON.stringify(employees)}`);
  if (process.env.SCREENSHOTS) await page.screenshot({ path: path.join(process.env.SCREENSHOTS, 'demo-gateway.png'), fullPage: false });
  console.log(`PASS the demo application lists ${employees.length} employees read through the gateway`);

  // A vendor webhook: the sandbox signs it, the proxy verifies it, updates the status and
  // forwards it to the application through its outbox.
  await page.click('form[action="/__demo/simulate-webhook"] button');
  await page.waitForURL(`${base}/`);
  const deadline = Date.now() + STEP;
  while (!(await page.content()).includes('Webhooks the proxy forwarded')) {
    if (Date.now() > deadline) fail('the forwarded webhook never reached the demo application');
    await page.waitForTimeout(300);
    await page.reload();
  }
  const after = await page.evaluate(() => fetch('/integrations').then((r) => r.json()));
  if (after.integrations[0].status !== 'needs_relink') fail(`status after the webhook: ${JSON.stringify(after)}`);
  console.log('PASS a signed vendor webhook set needs_relink and reached the application');
  console.log(JSON.stringify({ kombo_connect_round_trip_ms: komboMs, bindbee_connect_round_trip_ms: bindbeeMs }));
}

const timeout = setTimeout(() => { console.error('FAIL: global timeout'); shutdown(1); }, 90_000);

async function shutdown(code) {
  clearTimeout(timeout);
  try { if (browser) await browser.close(); } catch {}
  if (dev && dev.exitCode === null) dev.kill('SIGTERM');
  process.exit(code);
}

main().then(
  () => { console.log('integrations browser test: all checks passed'); return shutdown(0); },
  (err) => {
    console.error(`FAIL: ${err.message}`);
    console.error(output.split('\n').slice(-20).join('\n'));
    return shutdown(1);
  },
);

// Real-browser end-to-end test of "Sign in with Bink" through `bink-proxy dev`.
//
// Starts `${BINK_PROXY_BIN:-target/debug/bink-proxy} dev --port P` on a free loopback port,
// drives headless Chromium (Debian's /usr/bin/chromium through playwright-core) through the
// sign-in, two-tab, deny and sign-out flows, and prints a one-line JSON summary.
// Exit code 0 when every check passes, 1 with a "FAIL: ..." message otherwise.
//
// Environment: BINK_PROXY_BIN (binary, relative to the repo root or absolute),
// CHROMIUM_PATH (default /usr/bin/chromium), BROWSER_TEST_TIMEOUT_MS (default 90000).

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..', '..');
const binPath = path.resolve(repoRoot, process.env.BINK_PROXY_BIN || 'target/debug/bink-proxy');
const chromiumPath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const GLOBAL_TIMEOUT_MS = Number(process.env.BROWSER_TEST_TIMEOUT_MS || 90_000);
const STEP_TIMEOUT_MS = 15_000;

const COOKIE_NAME = '_bink_session';
const BINK_TITLE = 'Sign in with Bink (sandbox)';
const APPROVE = (user) => `button[name=decision][value=approve][data-user="${user}"]`;
const DENY = 'button[name=decision][value=deny]';

class CheckFailed extends Error {}

function assert(cond, message) {
  if (!cond) throw new CheckFailed(message);
}

function log(msg) {
  process.stdout.write(`${msg}\n`);
}

let dev = null; // the `bink-proxy dev` child process
let devOutput = ''; // its stdout+stderr, kept for failure reports (bounded)
let browser = null;
let cleaningUp = null;
let currentCheck = 'setup';

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function remember(chunk) {
  devOutput += chunk.toString();
  if (devOutput.length > 64_000) devOutput = devOutput.slice(-32_000);
}

/** Spawns `bink-proxy dev --port P`; resolves once it prints the "Open http://" line. */
function startDev(port) {
  return new Promise((resolve, reject) => {
    const child = spawn(binPath, ['dev', '--port', String(port)], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1' },
    });
    dev = child;
    let stdoutBuf = '';
    let done = false;
    const timer = setTimeout(() => {
      if (done) return;
      done = true;
      reject(new CheckFailed(`bink-proxy dev printed no "Open http://" line within 20 s`));
    }, 20_000);
    child.stdout.on('data', (chunk) => {
      remember(chunk);
      if (done) return;
      stdoutBuf += chunk.toString();
      const m = stdoutBuf.match(/Open (http:\/\/127\.0\.0\.1:(\d+)\/)/);
      if (m) {
        done = true;
        clearTimeout(timer);
        if (Number(m[2]) !== port) {
          reject(new CheckFailed(`bink-proxy dev announced ${m[1]}, expected port ${port}`));
        } else {
          resolve(`http://127.0.0.1:${port}`);
        }
      }
    });
    child.stderr.on('data', remember);
    child.on('error', (err) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      reject(new CheckFailed(`cannot start ${binPath}: ${err.message}`));
    });
    child.on('exit', (code, signal) => {
      if (dev === child) dev = null;
      if (done) return;
      done = true;
      clearTimeout(timer);
      reject(new CheckFailed(`bink-proxy dev exited early (code ${code}, signal ${signal})`));
    });
  });
}

function stopDev() {
  const child = dev;
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => {
      try {
        child.kill('SIGKILL');
      } catch {}
    }, 5_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    try {
      child.kill('SIGTERM');
    } catch {
      clearTimeout(kill);
      resolve();
    }
  });
}

async function cleanup() {
  if (!cleaningUp) {
    cleaningUp = (async () => {
      if (browser) {
        const b = browser;
        browser = null;
        await Promise.race([b.close().catch(() => {}), new Promise((r) => setTimeout(r, 10_000))]);
      }
      await stopDev();
    })();
  }
  return cleaningUp;
}

// Last resort: never leave the dev process behind, whatever happens.
process.on('exit', () => {
  if (dev && dev.exitCode === null) {
    try {
      dev.kill('SIGKILL');
    } catch {}
  }
});

/** The sandbox Bink authorize page: another 127.0.0.1 port, fixed title, approve buttons. */
async function expectBinkPage(page, base, what) {
  const url = new URL(page.url());
  const title = await page.title();
  assert(
    url.hostname === '127.0.0.1' && url.origin !== base && url.pathname === '/api/oauth/authorize',
    `${what}: expected the sandbox Bink authorize page, got ${page.url()} (title ${JSON.stringify(title)})`,
  );
  assert(title === BINK_TITLE, `${what}: expected title ${JSON.stringify(BINK_TITLE)}, got ${JSON.stringify(title)}`);
  assert(
    (await page.locator(APPROVE('ada')).count()) === 1,
    `${what}: the Bink page has no approve button for ada`,
  );
  return url;
}

/** Clicks `selector` and waits for the navigation it starts (all its redirects) to load. */
async function clickAndWait(page, selector) {
  const [response] = await Promise.all([
    page.waitForNavigation({ waitUntil: 'load', timeout: STEP_TIMEOUT_MS }),
    page.click(selector, { timeout: STEP_TIMEOUT_MS }),
  ]);
  return response;
}

/** The demo upstream's header table as [[name, value], ...]. */
async function headerRows(page) {
  return page.$$eval('table tr', (rows) =>
    rows.map((r) => Array.from(r.querySelectorAll('td'), (td) => td.textContent.trim())),
  );
}

function header(rows, name) {
  const row = rows.find((r) => r[0] === name);
  return row ? row[1] : undefined;
}

/** Asserts the page is the demo upstream signed in as `user`, at exactly `expectedUrl`. */
async function expectAppPage(page, response, expectedUrl, user, what) {
  if (page.url() !== expectedUrl) {
    const body = ((await page.locator('body').innerText({ timeout: 5_000 }).catch(() => '')) || '').trim();
    throw new CheckFailed(
      `${what}: expected to land on ${expectedUrl}, landed on ${page.url()} ` +
        `(status ${response ? response.status() : 'none'}, page says ${JSON.stringify(body.slice(0, 200))})`,
    );
  }
  assert(response, `${what}: no navigation response`);
  assert(response.status() === 200, `${what}: ${expectedUrl} answered ${response.status()}, expected 200`);
  const h1 = (await page.locator('h1').first().textContent({ timeout: STEP_TIMEOUT_MS }))?.trim();
  assert(h1 === `Hello, ${user}`, `${what}: expected <h1>Hello, ${user}</h1>, got ${JSON.stringify(h1)}`);
  const rows = await headerRows(page);
  // (c) holds on every app page: no cookie of the proxy's (the session, its chunks, the
  // per-login CSRF cookies) is ever forwarded to the upstream.
  const leaked = rows.filter((r) => r.join(' ').includes(COOKIE_NAME));
  assert(
    leaked.length === 0,
    `${what}: the upstream received the proxy's cookie(s): ${leaked.map((r) => `${r[0]}: ${r[1]}`).join('; ')}`,
  );
  const method = header(rows, 'x-bink-auth-method');
  assert(method === 'session', `${what}: x-bink-auth-method is ${JSON.stringify(method)}, expected "session"`);
  const reqUser = header(rows, 'x-auth-request-user');
  assert(reqUser === user, `${what}: x-auth-request-user is ${JSON.stringify(reqUser)}, expected ${JSON.stringify(user)}`);
  return rows;
}

async function sessionCookies(context, base) {
  // The session cookie, or its chunks if it is ever split (`_bink_session_0`, ...); not the
  // per-login CSRF cookies (`_bink_session_csrf_<id>`).
  return (await context.cookies(base)).filter(
    (c) => c.name === COOKIE_NAME || new RegExp(`^${COOKIE_NAME}_\\d+$`).test(c.name),
  );
}

async function run() {
  assert(existsSync(binPath), `bink-proxy binary not found at ${binPath} (build it: cargo build --bin bink-proxy)`);
  assert(existsSync(chromiumPath), `Chromium not found at ${chromiumPath} (apt-get install -y chromium)`);

  // A free port can be taken between probing and binding: retry a few times.
  let base;
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      base = await startDev(port);
      break;
    } catch (err) {
      await stopDev();
      if (attempt >= 3) throw err;
      log(`note: dev did not start on port ${port} (${err.message}); retrying`);
    }
  }
  log(`bink-proxy dev is up at ${base}/`);

  browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    timeout: 30_000,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  log(`Chromium ${browser.version()}`);
  const summary = {};

  // (a) + (b) + (c): sign in as ada from a deep link.
  currentCheck = '(a) deep link lands on the Bink page';
  const ctx = await browser.newContext();
  ctx.setDefaultTimeout(STEP_TIMEOUT_MS);
  const page = await ctx.newPage();
  const target = `${base}/some/page?x=1`;
  const t0 = performance.now();
  const first = await page.goto(target, { waitUntil: 'load' });
  assert(first && first.status() === 200, `(a) the Bink page answered ${first && first.status()}, expected 200`);
  await expectBinkPage(page, base, '(a)');
  log(`PASS (a) ${target} -> Bink sandbox page ${new URL(page.url()).origin}`);

  currentCheck = '(b) approve as ada returns to the deep link';
  const back = await clickAndWait(page, APPROVE('ada'));
  const roundTripMs = Math.round(performance.now() - t0);
  const rows = await expectAppPage(page, back, target, 'ada', '(b)');
  summary.login_round_trip_ms = roundTripMs;
  log(`PASS (b) approve as ada -> ${page.url()}: "Hello, ada", x-bink-auth-method=session (login round trip ${roundTripMs} ms)`);

  const cookies = await sessionCookies(ctx, base);
  const session = cookies.find((c) => c.name === COOKIE_NAME);
  assert(session, `(b) no ${COOKIE_NAME} cookie after sign-in (cookies: ${cookies.map((c) => c.name).join(', ') || 'none'})`);
  const cookieBytes = Buffer.byteLength(`${session.name}=${session.value}`);
  assert(session.httpOnly === true, `(b) ${COOKIE_NAME} is not HttpOnly`);
  assert(session.sameSite === 'Lax', `(b) ${COOKIE_NAME} has SameSite=${session.sameSite}, expected Lax`);
  assert(session.secure === false, `(b) ${COOKIE_NAME} is Secure in dev (cookie_secure=false expected)`);
  assert(cookieBytes <= 4096, `(b) ${COOKIE_NAME} is ${cookieBytes} bytes, over the 4096-byte browser limit`);
  summary.session_cookie_bytes = cookieBytes;
  log(`PASS (b) ${COOKIE_NAME}: ${cookieBytes} bytes, HttpOnly, SameSite=Lax, path ${session.path}`);
  const leftover = (await ctx.cookies(base)).filter((c) => c.name.startsWith(`${COOKIE_NAME}_csrf`));
  assert(leftover.length === 0, `(b) CSRF cookie(s) left after the callback: ${leftover.map((c) => c.name).join(', ')}`);

  currentCheck = '(c) upstream never sees the session cookie';
  const tableText = rows.map((r) => r.join(': ')).join('\n');
  assert(!tableText.includes(COOKIE_NAME), `(c) the upstream received the session cookie:\n${tableText}`);
  assert(!(await page.content()).includes(session.value.slice(0, 32)), `(c) the session cookie value reached the upstream`);
  log(`PASS (c) the upstream's header table has no ${COOKIE_NAME} (${rows.length} headers)`);

  // (d) two tabs start sign-in before either is approved.
  currentCheck = '(d) two tabs sign in at once';
  const ctx2 = await browser.newContext();
  ctx2.setDefaultTimeout(STEP_TIMEOUT_MS);
  const tab1 = await ctx2.newPage();
  const tab2 = await ctx2.newPage();
  const urlA = `${base}/a`;
  const urlB = `${base}/b`;
  await Promise.all([tab1.goto(urlA, { waitUntil: 'load' }), tab2.goto(urlB, { waitUntil: 'load' })]);
  const stateA = (await expectBinkPage(tab1, base, '(d) tab 1')).searchParams.get('state');
  const stateB = (await expectBinkPage(tab2, base, '(d) tab 2')).searchParams.get('state');
  assert(stateA && stateB && stateA !== stateB, `(d) the two tabs got the same or no OAuth state (${stateA}, ${stateB})`);
  const respA = await clickAndWait(tab1, APPROVE('ada'));
  await expectAppPage(tab1, respA, urlA, 'ada', '(d) tab 1');
  const respB = await clickAndWait(tab2, APPROVE('ada'));
  await expectAppPage(tab2, respB, urlB, 'ada', '(d) tab 2');
  log(`PASS (d) two tabs started together both signed in: tab 1 -> ${tab1.url()}, tab 2 -> ${tab2.url()}`);
  await ctx2.close();

  // (e) Deny -> 403 page.
  currentCheck = '(e) deny lands on a 403 page';
  const ctx3 = await browser.newContext();
  ctx3.setDefaultTimeout(STEP_TIMEOUT_MS);
  const page3 = await ctx3.newPage();
  await page3.goto(target, { waitUntil: 'load' });
  await expectBinkPage(page3, base, '(e)');
  const denied = await clickAndWait(page3, DENY);
  assert(denied, '(e) no response after Deny');
  assert(denied.status() === 403, `(e) Deny landed on ${page3.url()} with status ${denied.status()}, expected 403`);
  assert(new URL(page3.url()).origin === base, `(e) Deny landed on ${page3.url()}, expected the proxy (${base})`);
  const ctype = (await denied.headerValue('content-type')) || '';
  assert(ctype.includes('text/html'), `(e) the 403 for a browser is ${JSON.stringify(ctype)}, expected an HTML page`);
  assert((await sessionCookies(ctx3, base)).length === 0, `(e) a session cookie was set after Deny`);
  log(`PASS (e) Deny -> ${denied.status()} ${ctype} at ${page3.url()}`);
  await ctx3.close();

  // (f) sign out, then the deep link asks to sign in again.
  currentCheck = '(f) sign-out';
  const out = await page.goto(`${base}/oauth2/sign_out`, { waitUntil: 'load' });
  assert(out, '(f) no response for /oauth2/sign_out');
  await expectBinkPage(page, base, '(f) after /oauth2/sign_out (-> / -> sign-in)');
  const afterOut = await sessionCookies(ctx, base);
  assert(afterOut.length === 0, `(f) ${COOKIE_NAME} still set after sign-out: ${afterOut.map((c) => c.name).join(', ')}`);
  await page.goto(target, { waitUntil: 'load' });
  await expectBinkPage(page, base, '(f) /some/page?x=1 after sign-out');
  log(`PASS (f) /oauth2/sign_out cleared ${COOKIE_NAME}; ${target} -> Bink sandbox page again`);

  // Information only: does the signed-out cookie still work if replayed (stateless store)?
  currentCheck = 'replay of a signed-out cookie (information)';
  const ctx4 = await browser.newContext();
  await ctx4.addCookies([{ ...session }]);
  const page4 = await ctx4.newPage();
  await page4.goto(target, { waitUntil: 'load' });
  const replayed = new URL(page4.url()).origin === base;
  log(`note: replaying the signed-out ${COOKIE_NAME} in a fresh browser ${replayed ? 'is still accepted (stateless cookie store)' : 'is rejected'}`);
  summary.signed_out_cookie_replay_accepted = replayed;
  await ctx4.close();
  await ctx.close();

  return summary;
}

async function screenshotOnFailure() {
  try {
    if (!browser) return;
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bink-browser-'));
    let n = 0;
    for (const c of browser.contexts()) {
      for (const p of c.pages()) {
        const file = path.join(dir, `page-${++n}.png`);
        await p.screenshot({ path: file, timeout: 5_000 });
        process.stderr.write(`  page ${p.url()}\n    screenshot: ${file}\n`);
      }
    }
  } catch {}
}

async function main() {
  const started = performance.now();
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(
      () => reject(new CheckFailed(`global timeout: not finished after ${GLOBAL_TIMEOUT_MS / 1000} s (during ${currentCheck})`)),
      GLOBAL_TIMEOUT_MS,
    );
  });
  let code = 0;
  try {
    const summary = await Promise.race([run(), timeout]);
    summary.total_ms = Math.round(performance.now() - started);
    log('browser test: all checks passed');
    log(JSON.stringify(summary));
  } catch (err) {
    code = 1;
    const msg = err instanceof CheckFailed ? err.message : `${currentCheck}: ${err && err.stack ? err.stack : err}`;
    process.stderr.write(`FAIL: ${msg}\n`);
    await screenshotOnFailure();
    const tail = devOutput.split('\n').slice(-30).join('\n');
    if (tail.trim()) process.stderr.write(`--- last lines of bink-proxy dev output ---\n${tail}\n`);
  } finally {
    clearTimeout(timer);
    await cleanup();
  }
  process.exit(code);
}

main();

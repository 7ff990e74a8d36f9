// Browser-test harness: a real `passerelle demo` process, a real SMTP server on loopback, Debian's chromium driven
// by playwright-core, and axe-core checks of every page visited.
import { spawn } from 'node:child_process';
import { createHmac, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const { chromium } = require('playwright-core');
const { SMTPServer } = require('smtp-server');
const { simpleParser } = require('mailparser');
const { Client } = require('pg');

/**
 * The tests' clock. `E2E_NOW` (an ISO 8601 instant) makes the whole browser suite run as if it were that instant:
 * every `passerelle demo` started here gets `PASSERELLE_NOW` (its clock starts there and runs on), and the tests
 * pick their dates from `clockNow()`, never from `Date.now()`. Unset: the real time. scripts/e2e-instants.sh runs
 * the calendar-sensitive files at chosen instants (a Tuesday morning, a Sunday night, a DST change, 31 December).
 */
const clockOffsetMs = process.env.E2E_NOW ? Date.parse(process.env.E2E_NOW) - Date.now() : 0;
if (Number.isNaN(clockOffsetMs)) throw new Error('E2E_NOW is not an ISO 8601 instant: ' + process.env.E2E_NOW);

/** Milliseconds since the epoch on the tests' clock (the same clock as the passerelle processes started here). */
export function clockNow() {
  return Date.now() + clockOffsetMs;
}

/** Metropolitan French public holidays of a year, as YYYY-MM-DD (fixed dates and the Easter-based ones). */
export function frenchHolidays(year) {
  // Anonymous Gregorian algorithm (Meeus/Jones/Butcher) for Easter Sunday.
  const a = year % 19, b = Math.floor(year / 100), c = year % 100, d = Math.floor(b / 4), e = b % 4;
  const f = Math.floor((b + 8) / 25), g = Math.floor((b - f + 1) / 3), h = (19 * a + b - d - g + 15) % 30;
  const i = Math.floor(c / 4), k = c % 4, l = (32 + 2 * e + 2 * i - h - k) % 7, m = Math.floor((a + 11 * h + 22 * l) / 451);
  const month = Math.floor((h + l - 7 * m + 114) / 31), day = ((h + l - 7 * m + 114) % 31) + 1;
  const easter = Date.UTC(year, month - 1, day);
  const shifted = (days) => new Date(easter + days * 86400000).toISOString().slice(0, 10);
  const fixed = ['01-01', '05-01', '05-08', '07-14', '08-15', '11-01', '11-11', '12-25'].map((md) => `${year}-${md}`);
  return new Set([...fixed, shifted(1), shifted(39), shifted(50)]);
}

/** A working day (Monday–Friday, not a public holiday) at least `daysAhead` days after the tests' today, YYYY-MM-DD. */
export function futureWorkingDay(daysAhead) {
  const d = new Date(clockNow() + daysAhead * 86400000);
  for (;;) {
    const iso = d.toISOString().slice(0, 10);
    const wd = d.getUTCDay();
    if (wd !== 0 && wd !== 6 && !frenchHolidays(d.getUTCFullYear()).has(iso)) return iso;
    d.setUTCDate(d.getUTCDate() + 1);
  }
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/** A real SMTP server (nodemailer's smtp-server) keeping every message it receives, parsed. */
export async function startSmtp() {
  const mails = [];
  const waiters = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      simpleParser(stream).then((mail) => {
        mails.push(mail);
        for (const w of [...waiters]) {
          if (w.pred(mail)) {
            waiters.splice(waiters.indexOf(w), 1);
            w.resolve(mail);
          }
        }
        callback();
      }, callback);
    },
  });
  const port = await freePort();
  await new Promise((r) => server.listen(port, '127.0.0.1', r));
  return {
    port,
    mails,
    waitFor(pred, timeoutMs = 15000) {
      const found = mails.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const w = { pred, resolve };
        waiters.push(w);
        setTimeout(() => {
          if (waiters.includes(w)) {
            waiters.splice(waiters.indexOf(w), 1);
            reject(new Error('no matching e-mail received within ' + timeoutMs + ' ms'));
          }
        }, timeoutMs);
      });
    },
    close: () => new Promise((r) => server.close(r)),
  };
}

/** Which databases the browser tests run on: SQLite always, PostgreSQL unless unreachable outside CI. */
export function backends() {
  if (process.env.E2E_BACKENDS) return process.env.E2E_BACKENDS.split(',');
  return process.env.PASSERELLE_SKIP_PG === '1' ? ['sqlite'] : ['sqlite', 'postgres'];
}

async function createPgDatabase() {
  const admin = process.env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
  const name = 'passerelle_e2e_' + randomUUID().replace(/-/g, '');
  const c = new Client({ connectionString: admin });
  await c.connect();
  await c.query(`CREATE DATABASE ${name}`);
  await c.end();
  const url = new URL(admin);
  url.pathname = '/' + name;
  const drop = async () => {
    const c2 = new Client({ connectionString: admin });
    await c2.connect();
    await c2.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await c2.end();
  };
  return { url: url.toString(), drop };
}

/** Starts `passerelle demo` on a free port with its own data directory (and database). */
export async function startPasserelle({ backend = 'sqlite', smtpPort, env = {} } = {}) {
  const port = await freePort();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'passerelle-e2e-'));
  let pg = null;
  const childEnv = {
    ...process.env,
    PASSERELLE_DATA_DIR: dataDir,
    PASSERELLE_BIND: `127.0.0.1:${port}`,
    RUST_LOG: process.env.RUST_LOG || 'warn',
    ...(process.env.E2E_NOW ? { PASSERELLE_NOW: new Date(clockNow()).toISOString() } : {}),
    ...env,
  };
  delete childEnv.DATABASE_URL;
  if (backend === 'postgres') {
    pg = await createPgDatabase();
    childEnv.DATABASE_URL = pg.url;
  }
  if (smtpPort) childEnv.PASSERELLE_SMTP_URL = `smtp://127.0.0.1:${smtpPort}?tls=none`;
  const bin = process.env.PASSERELLE_BIN || path.join(root, 'target', 'debug', 'passerelle');
  const child = spawn(bin, ['demo'], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 120000;
  for (;;) {
    if (child.exitCode !== null) throw new Error('passerelle exited early:\n' + output);
    try {
      const r = await fetch(base + '/healthz');
      if (r.ok) break;
    } catch {}
    if (Date.now() > deadline) throw new Error('passerelle did not start:\n' + output);
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    base,
    backend,
    output: () => output,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
      if (pg) await pg.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** Runs axe-core (WCAG 2.1 A/AA rules) on the page and fails with the list of violations. */
export async function checkA11y(page) {
  // page.evaluate goes through the DevTools protocol, so the page's strict CSP stays on while axe runs.
  await page.evaluate(axeSource + ';0');
  const result = await page.evaluate(() =>
    window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }),
  );
  const violations = result.violations.map(
    (v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(' | ')}`,
  );
  if (violations.length) throw new Error(`axe violations on ${page.url()}:\n` + violations.join('\n'));
}

/** Opens a page and checks its accessibility. */
export async function visit(page, url) {
  const res = await page.goto(url);
  await checkA11y(page);
  return res;
}

export async function login(page, base, email, password = 'demo') {
  await page.goto(base + '/connexion');
  await page.fill('#email', email);
  await page.fill('#password', password);
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
}

/** RFC 6238 TOTP (SHA-1, 6 digits, 30 s), as an authenticator app computes it. */
export function totp(secretBase32, unixSeconds = Math.floor(clockNow() / 1000)) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const ch of secretBase32.replace(/=+$/, '').toUpperCase()) {
    bits += alphabet.indexOf(ch).toString(2).padStart(5, '0');
  }
  const bytes = Buffer.alloc(Math.floor(bits.length / 8));
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(bits.slice(i * 8, i * 8 + 8), 2);
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(unixSeconds / 30)));
  const h = createHmac('sha1', bytes).update(counter).digest();
  const o = h[h.length - 1] & 0xf;
  const code = ((h.readUInt32BE(o) & 0x7fffffff) % 1000000).toString().padStart(6, '0');
  return code;
}

/** The EICAR test string: every antivirus detects it; it is harmless. */
export const EICAR = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';

/**
 * Starts Debian's clamd on a free loopback port with a signature database written here (the EICAR test
 * signature): signature downloads are impossible on this machine. Returns null when clamd is not installed,
 * except under CI=true where that is a failure.
 */
export async function startClamd() {
  const bin = process.env.CLAMD_BIN || '/usr/sbin/clamd';
  const { existsSync, writeFileSync } = await import('node:fs');
  if (!existsSync(bin)) {
    if (process.env.CI === 'true') throw new Error(`CI=true and ${bin} is missing (apt-get install clamav-daemon)`);
    console.warn(`warning: ${bin} missing; attachments will be stored unscanned`);
    return null;
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'passerelle-clamd-'));
  const port = await freePort();
  writeFileSync(path.join(dir, 'passerelle-test.hdb'), '44d88612fea8a8f36de82e1278abb02f:68:Eicar-Test-Signature\n');
  writeFileSync(
    path.join(dir, 'clamd.conf'),
    `Foreground yes\nDatabaseDirectory ${dir}\nTemporaryDirectory ${dir}\nLogFile ${dir}/clamd.log\n` +
      `PidFile ${dir}/clamd.pid\nTCPSocket ${port}\nTCPAddr 127.0.0.1\nStreamMaxLength 100M\nMaxThreads 4\n`,
  );
  const child = spawn(bin, ['-c', path.join(dir, 'clamd.conf')], { stdio: 'ignore' });
  const deadline = Date.now() + 60000;
  for (;;) {
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => s.end('zPING\0'));
      let data = '';
      s.on('data', (d) => (data += d));
      s.on('end', () => resolve(data.startsWith('PONG')));
      s.on('error', () => resolve(false));
    });
    if (ok) break;
    if (child.exitCode !== null || Date.now() > deadline) throw new Error('clamd did not start');
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    address: `tcp://127.0.0.1:${port}`,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

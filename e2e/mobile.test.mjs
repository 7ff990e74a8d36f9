// Phone-sized screens: at 360×740 every page of each demo agent's menu passes axe-core with 0
// violations, including `scrollable-region-focusable` (a wide table scrolls inside a focusable, labelled region).
// For Mon Suivi Justice a person page, an appointment page, a place page and an agenda page are visited too; for
// Info Parquet the inbox and a referral page. The desktop runs of the other files cover the wide screens.
import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { backends, checkA11y, launchBrowser, login, startPasserelle } from './harness.mjs';

const PHONE = { width: 360, height: 740 };

const ROLES = [
  'cpip@demo.passerelle.fr',
  'admin-spip@demo.passerelle.fr',
  'greffe-bex@demo.passerelle.fr',
  'jap@demo.passerelle.fr',
  'admin@demo.passerelle.fr',
  'agent@demo-inspection.passerelle.fr',
  'responsable@demo-inspection.passerelle.fr',
  'parquet@demo.passerelle.fr',
];

/** Same-origin links (path + query) of the elements matching `selector`, in page order, without duplicates. */
async function linksOf(page, selector) {
  const hrefs = await page.locator(selector).evaluateAll((as) => as.map((a) => a.href));
  const origin = new URL(page.url()).origin;
  const out = [];
  for (const href of hrefs) {
    const u = new URL(href);
    if (u.origin !== origin) continue;
    const p = u.pathname + u.search;
    if (/\.(csv|ics|pdf)$/.test(u.pathname) || u.pathname.startsWith('/static/')) continue;
    if (!out.includes(p)) out.push(p);
  }
  return out;
}

/** The first same-origin link whose path matches `re` on the current page, or null. */
async function firstLink(page, re) {
  return (await linksOf(page, 'main a[href]')).find((p) => re.test(p.split('?')[0])) ?? null;
}

/**
 * Opens a page at phone size and checks that it answered 200, passes axe-core and does not scroll sideways as a
 * whole (only the table regions may). Problems are collected in `problems`, so that one run lists every page.
 */
async function visitPhone(page, base, url, problems) {
  problems.visited = (problems.visited ?? 0) + 1;
  try {
    const res = await page.goto(base + url);
    assert.equal(res.status(), 200, `${url} answers 200`);
    await checkA11y(page);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 1, `${url} is ${overflow}px wider than the 360px screen`);
  } catch (e) {
    problems.push(e.message);
  }
}

for (const backend of backends()) {
  describe(`Phone-sized screens, 360×740 (${backend})`, () => {
    let app, browser;

    before(async () => {
      app = await startPasserelle({ backend });
      browser = await launchBrowser();
    });

    after(async () => {
      await browser?.close();
      await app?.stop();
    });

    test('a wide table scrolls sideways inside its labelled region, with the keyboard', async () => {
      const ctx = await browser.newContext({ viewport: PHONE });
      const page = await ctx.newPage();
      try {
        await login(page, app.base, 'admin@demo.passerelle.fr');
        await page.goto(app.base + '/admin/organisations');
        const region = page.getByRole('region', { name: 'Organisations de Passerelle' });
        const size = await region.evaluate((el) => ({ scroll: el.scrollWidth, client: el.clientWidth }));
        assert.ok(size.scroll > size.client, 'the table is wider than the screen, its region scrolls');
        await region.focus();
        await page.keyboard.press('ArrowRight');
        await page.keyboard.press('ArrowRight');
        await page.waitForFunction((el) => el.scrollLeft > 0, await region.elementHandle());
        await page.screenshot({ path: path.join(os.tmpdir(), `passerelle-360-organisations-${backend}.png`), fullPage: true });
      } finally {
        await ctx.close();
      }
    });

    for (const email of ROLES) {
      test(`every menu page of ${email} passes axe-core at 360×740`, async (t) => {
        const ctx = await browser.newContext({ viewport: PHONE });
        const page = await ctx.newPage();
        const problems = [];
        try {
          await login(page, app.base, email);
          assert.doesNotMatch(new URL(page.url()).pathname, /^\/connexion/, `${email} is signed in`);
          await visitPhone(page, app.base, '/accueil', problems);
          const menu = await linksOf(page, '#navigation-principale a[href]');
          assert.ok(menu.length >= 1, `${email} has a menu`);
          const pages = [...menu, '/compte'];
          for (const p of pages) if (p !== '/accueil') await visitPhone(page, app.base, p, problems);

          if (pages.includes('/msj/personnes')) {
            await page.goto(app.base + '/msj/personnes');
            const person = await firstLink(page, /^\/msj\/personnes\/(?!nouvelle$)[^/]+$/);
            assert.ok(person, 'the people list links to a person');
            await visitPhone(page, app.base, person, problems);
            const appointment = await firstLink(page, /^\/msj\/rendez-vous\/[^/]+$/);
            if (appointment) await visitPhone(page, app.base, appointment, problems);
          }
          if (pages.includes('/msj/lieux')) {
            await page.goto(app.base + '/msj/lieux');
            const place = await firstLink(page, /^\/msj\/lieux\/[^/]+$/);
            assert.ok(place, 'the places list links to a place');
            await visitPhone(page, app.base, place, problems);
            const agenda = await firstLink(page, /^\/msj\/agendas\/[^/]+$/);
            assert.ok(agenda, 'the place links to an agenda');
            await visitPhone(page, app.base, agenda, problems);
            const day = await firstLink(page, /^\/msj\/agendas\/[^/]+\/jour\//);
            if (day) await visitPhone(page, app.base, day, problems);
          }
          if (pages.includes('/info-parquet/parquet')) {
            await visitPhone(page, app.base, '/info-parquet/parquet', problems);
            const referral = await firstLink(page, /^\/info-parquet\/signalements\/(?!nouveau$)[^/]+$/);
            assert.ok(referral, 'the inbox links to a referral');
            await visitPhone(page, app.base, referral, problems);
          }
          if (pages.includes('/info-parquet/signalements')) {
            const referral = await (async () => {
              await page.goto(app.base + '/info-parquet/signalements');
              return firstLink(page, /^\/info-parquet\/signalements\/(?!nouveau$)[^/]+$/);
            })();
            if (referral) await visitPhone(page, app.base, referral, problems);
          }
        } finally {
          await ctx.close();
        }
        t.diagnostic(`${problems.visited} pages checked`);
        assert.ok(problems.length === 0, problems.join('\n\n'));
      });
    }
  });
}

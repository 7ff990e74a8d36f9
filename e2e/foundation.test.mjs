// Foundation: login, wrong password, lockout, TOTP, logout, password reset by real e-mail, CSRF, 404
// across organisations — on each database, with an axe-core check of every page visited.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { backends, checkA11y, launchBrowser, login, startPasserelle, startSmtp, totp, visit } from './harness.mjs';

const DEMO_HOMES = [
  ['admin@demo.passerelle.fr', 'Administrateur national'],
  ['cpip@demo.passerelle.fr', "Conseiller pénitentiaire d'insertion et de probation"],
  ['greffe-bex@demo.passerelle.fr', 'Agent du BEX'],
  ['jap@demo.passerelle.fr', "Juge de l'application des peines"],
  ['agent@demo-inspection.passerelle.fr', 'Agent (administration)'],
  ['parquet@demo.passerelle.fr', 'Procureur ou substitut'],
];

for (const backend of backends()) {
  describe(`fondations (${backend})`, () => {
    let smtp, app, browser;

    before(async () => {
      smtp = await startSmtp();
      app = await startPasserelle({ backend, smtpPort: smtp.port });
      browser = await launchBrowser();
    });

    after(async () => {
      await browser?.close();
      await app?.stop();
      await smtp?.close();
    });

    test('each demo account logs in and sees the DSFR home of its role', async () => {
      for (const [email, roleLabel] of DEMO_HOMES) {
        const ctx = await browser.newContext();
        const page = await ctx.newPage();
        await visit(page, app.base + '/connexion');
        await login(page, app.base, email);
        assert.equal(new URL(page.url()).pathname, '/accueil', email);
        assert.match(await page.locator('h1').innerText(), /^Bonjour /);
        assert.ok((await page.locator('main').innerText()).includes(roleLabel), `${email}: ${roleLabel}`);
        assert.equal(await page.locator('header .fr-logo').count(), 1, 'Marianne block');
        await checkA11y(page);
        await ctx.close();
      }
    });

    test('a wrong password is refused with a French message and no session', async () => {
      const ctx = await browser.newContext();
      const page = await ctx.newPage();
      await login(page, app.base, 'cpip@demo.passerelle.fr', 'pas-le-bon');
      assert.equal(new URL(page.url()).pathname, '/connexion');
      assert.match(await page.locator('.fr-alert--error').innerText(), /Adresse e-mail ou mot de passe incorrect/);
      await checkA11y(page);
      await page.goto(app.base + '/accueil');
      assert.equal(new URL(page.url()).pathname, '/connexion');
      await ctx.close();
    });

    test('ten failures lock the account, even against the right password; only the owner is told', async () => {
      const ctx = await browser.newContext();
      const page = await ctx.newPage();
      for (let i = 0; i < 10; i++) {
        await login(page, app.base, 'cpip2@demo.passerelle.fr', 'mauvais-' + i);
        assert.match(await page.locator('.fr-alert--error').innerText(), /incorrect/);
      }
      // The page answers as for an unknown address (no account enumeration)...
      await login(page, app.base, 'cpip2@demo.passerelle.fr', 'demo');
      assert.equal(new URL(page.url()).pathname, '/connexion');
      assert.match(await page.locator('.fr-alert--error').innerText(), /incorrect/);
      // ...and the owner learns of the lock by e-mail.
      const mail = await smtp.waitFor((m) => m.to?.text === 'cpip2@demo.passerelle.fr' && /verrouillé/.test(m.subject));
      assert.match(mail.text, /verrouillé pendant 15 minutes/);
      await ctx.close();
    });

    test('TOTP enrolment, then login with a code, and logout', async () => {
      const ctx = await browser.newContext();
      const page = await ctx.newPage();
      await login(page, app.base, 'jap@demo.passerelle.fr');
      await visit(page, app.base + '/compte/double-authentification');
      const secret = (await page.locator('#cle-totp').innerText()).trim();
      await page.fill('#mot-de-passe-actuel', 'demo');
      await page.fill('#code', totp(secret));
      const enrolmentCode = totp(secret);
      await Promise.all([page.waitForNavigation(), page.click('form[action="/compte/double-authentification"] button')]);
      const codes = await page.locator('#codes-de-secours li').allInnerTexts();
      assert.equal(codes.length, 10);
      await checkA11y(page);

      await Promise.all([page.waitForNavigation(), page.click('header form[action="/deconnexion"] button')]);
      assert.match(await page.locator('.fr-alert--info').innerText(), /Vous êtes déconnecté/);
      await page.goto(app.base + '/accueil');
      assert.equal(new URL(page.url()).pathname, '/connexion', 'logged out');

      await login(page, app.base, 'jap@demo.passerelle.fr');
      assert.equal(new URL(page.url()).pathname, '/connexion/totp');
      await checkA11y(page);
      await page.fill('#code', '000000' === totp(secret) ? '111111' : '000000');
      await Promise.all([page.waitForNavigation(), page.click('main button[type=submit]')]);
      assert.match(await page.locator('.fr-alert--error').innerText(), /Code incorrect/);
      // A code works once: the one that confirmed the enrolment is spent, wait for the next one.
      while (totp(secret) === enrolmentCode) await new Promise((r) => setTimeout(r, 1000));
      await page.fill('#code', totp(secret));
      await Promise.all([page.waitForNavigation(), page.click('main button[type=submit]')]);
      assert.equal(new URL(page.url()).pathname, '/accueil');

      // A recovery code works once.
      await Promise.all([page.waitForNavigation(), page.click('header form[action="/deconnexion"] button')]);
      await login(page, app.base, 'jap@demo.passerelle.fr');
      await page.fill('#code', codes[0]);
      await Promise.all([page.waitForNavigation(), page.click('main button[type=submit]')]);
      assert.equal(new URL(page.url()).pathname, '/accueil');
      await ctx.close();
    });

    test('password reset through the real SMTP server', async () => {
      const ctx = await browser.newContext();
      const page = await ctx.newPage();
      await visit(page, app.base + '/mot-de-passe-oublie');
      await page.fill('#email', 'greffe-parquet@demo.passerelle.fr');
      await Promise.all([page.waitForNavigation(), page.click('main button[type=submit]')]);
      assert.match(await page.locator('main').innerText(), /Demande enregistrée/);
      const mail = await smtp.waitFor((m) => m.to?.text === 'greffe-parquet@demo.passerelle.fr');
      assert.match(mail.subject, /réinitialisation/);
      const link = mail.text.match(/https?:\/\/\S+jeton=[0-9a-f]+/)[0];
      assert.ok(link.startsWith(app.base), link);

      await visit(page, link);
      await page.fill('#password', 'court');
      await page.fill('#confirmation', 'court');
      await Promise.all([page.waitForNavigation(), page.click('main button[type=submit]')]);
      assert.match(await page.locator('.fr-alert--error').innerText(), /au moins 12 caractères/);
      await page.fill('#password', 'une phrase de passe solide');
      await page.fill('#confirmation', 'une phrase de passe solide');
      await Promise.all([page.waitForNavigation(), page.click('main button[type=submit]')]);
      assert.match(await page.locator('.fr-alert--success').innerText(), /mot de passe est enregistré/);

      await login(page, app.base, 'greffe-parquet@demo.passerelle.fr', 'demo');
      assert.equal(new URL(page.url()).pathname, '/connexion', 'old password no longer works');
      await login(page, app.base, 'greffe-parquet@demo.passerelle.fr', 'une phrase de passe solide');
      assert.equal(new URL(page.url()).pathname, '/accueil');

      // The link served once.
      await page.goto(link);
      assert.match(await page.locator('main').innerText(), /Lien invalide ou expiré/);
      await ctx.close();
    });

    test('a POST without its CSRF token is refused and changes nothing', async () => {
      const ctx = await browser.newContext();
      const page = await ctx.newPage();
      await login(page, app.base, 'admin@demo.passerelle.fr');
      const res = await page.request.post(app.base + '/admin/utilisateurs', {
        form: { email: 'intrus@example.fr', first_name: 'In', last_name: 'Trus', role: 'cpip', organisation_id: 'x' },
        maxRedirects: 0,
      });
      assert.equal(res.status(), 403);
      assert.match(await res.text(), /Formulaire expiré/);
      await visit(page, app.base + '/admin/utilisateurs');
      assert.ok(!(await page.locator('main').innerText()).includes('intrus@example.fr'));
      await ctx.close();
    });

    test("an agent of SPIP 92 opening another organisation's user gets the DSFR 404", async () => {
      const ctx = await browser.newContext();
      const page = await ctx.newPage();
      await login(page, app.base, 'admin@demo.passerelle.fr');
      await visit(page, app.base + '/admin/utilisateurs');
      const hrefOf = async (email) =>
        page.locator('tr', { hasText: email }).locator('a').first().getAttribute('href');
      const parquetUser = (await hrefOf('parquet@demo.passerelle.fr')).split('/').pop();
      const colleague = (await hrefOf('admin-spip@demo.passerelle.fr')).split('/').pop();
      await visit(page, app.base + '/admin/organisations');
      await visit(page, app.base + '/admin/journal');
      await ctx.close();

      const ctx2 = await browser.newContext();
      const p2 = await ctx2.newPage();
      await login(p2, app.base, 'cpip@demo.passerelle.fr');
      const ok = await visit(p2, `${app.base}/utilisateurs/${colleague}`);
      assert.equal(ok.status(), 200);
      const res = await visit(p2, `${app.base}/utilisateurs/${parquetUser}`);
      assert.equal(res.status(), 404);
      assert.match(await p2.locator('h1').innerText(), /Page non trouvée/);
      // A CPIP manages nobody: the admin pages are refused.
      const forbidden = await p2.goto(app.base + '/admin/utilisateurs');
      assert.equal(forbidden.status(), 403);
      await ctx2.close();
    });
  });
}

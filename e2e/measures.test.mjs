// Measures and the person's explanations: a CPIP records a measure with obligations
// (French field errors keep the input), the public help pages in French, English and Arabic (right to left) on a
// phone-sized screen, the monthly satisfaction question on the home page and the national admin's results —
// with axe checks of every page.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { backends, checkA11y, launchBrowser, login, startPasserelle, visit } from './harness.mjs';

for (const backend of backends()) {
  describe(`Measures, help and satisfaction (${backend})`, () => {
    let app, browser;

    before(async () => {
      app = await startPasserelle({ backend });
      browser = await launchBrowser();
    });

    after(async () => {
      await browser?.close();
      await app?.stop();
    });

    test('a CPIP answers the monthly question once, then records a measure with obligations', async () => {
      const ctx = await browser.newContext();
      const page = await ctx.newPage();
      await login(page, app.base, 'cpip@demo.passerelle.fr');
      await visit(page, app.base + '/accueil');
      assert.match(await page.locator('#satisfaction').innerText(), /Ce service vous aide-t-il/);
      await page.setChecked('#score-4', true, { force: true });
      await page.fill('#satisfaction-commentaire', 'Les rappels par SMS marchent bien.');
      await Promise.all([page.waitForNavigation(), page.click('#satisfaction button[type=submit]')]);
      await checkA11y(page);
      assert.match(await page.locator('.fr-alert--success').innerText(), /Merci pour votre réponse/);
      assert.equal(await page.locator('#satisfaction').count(), 0, 'asked once a month');

      await visit(page, app.base + '/msj/personnes?q=dupont jean');
      await Promise.all([page.waitForNavigation(), page.locator('table a', { hasText: 'DUPONT Jean' }).first().click()]);
      await checkA11y(page);
      assert.ok(await page.locator('#mesures').count());
      await Promise.all([page.waitForNavigation(), page.click('#mesures >> text=Ajouter une mesure')]);
      await checkA11y(page);
      await page.selectOption('#kind', 'sursis_probatoire');
      await page.fill('#start_date', '2026-02-01');
      await page.fill('#end_date', '2026-01-01');
      await page.fill('#court', 'Tribunal judiciaire de Nanterre');
      await page.setChecked('#obligation-soins', true, { force: true });
      await page.fill('#detail_soins', 'Suivi en addictologie');
      await page.setChecked('#obligation-residence', true, { force: true });
      await page.setChecked('#obligation-activite', true, { force: true });
      await Promise.all([page.waitForNavigation(), page.click('#form-mesure button[type=submit]')]);
      await checkA11y(page);
      assert.match(await page.locator('#end_date-erreur').innerText(), /La date de fin doit être après la date de début/);
      assert.equal(await page.inputValue('#detail_soins'), 'Suivi en addictologie', 'input kept');
      assert.ok(await page.isChecked('#obligation-residence'));
      await page.fill('#end_date', '2028-02-01');
      await Promise.all([page.waitForNavigation(), page.click('#form-mesure button[type=submit]')]);
      await checkA11y(page);
      assert.match(await page.locator('.fr-alert--success').innerText(), /Mesure ajoutée/);
      const table = await page.locator('#table-mesures').innerText();
      assert.match(table, /Sursis probatoire/);
      assert.match(table, /Se soumettre à des soins — Suivi en addictologie/);
      // What the person reads in their space, previewed by the agent, in French then in Arabic.
      await Promise.all([page.waitForNavigation(), page.click('text=Voir ce que la personne lit')]);
      await checkA11y(page);
      const main = await page.locator('main').innerText();
      assert.match(main, /vous n'allez pas en prison tant que vous respectez des règles/);
      assert.match(main, /Justificatif de domicile récent/);
      await Promise.all([page.waitForNavigation(), page.click('#langues >> text=العربية')]);
      await checkA11y(page);
      assert.equal(await page.getAttribute('html', 'dir'), 'rtl');
      await page.setViewportSize({ width: 360, height: 740 });
      await checkA11y(page);
      await ctx.close();
    });

    test('help pages are public, plain, and right to left in Arabic on a phone', async () => {
      const ctx = await browser.newContext({ viewport: { width: 360, height: 740 } });
      const page = await ctx.newPage();
      await visit(page, app.base + '/mon-espace/aide');
      assert.equal(await page.locator('h1').innerText(), 'Aide');
      await Promise.all([page.waitForNavigation(), page.click('#pages-aide >> text=Si je manque un rendez-vous')]);
      await checkA11y(page);
      assert.match(await page.locator('main').innerText(), /prévenez le plus tôt possible/);
      await Promise.all([page.waitForNavigation(), page.click('#langues >> text=English')]);
      await checkA11y(page);
      assert.equal(await page.getAttribute('html', 'lang'), 'en');
      assert.match(await page.locator('h1').innerText(), /If I miss an appointment/);
      await visit(page, app.base + '/mon-espace/aide/mes-donnees?langue=ar');
      assert.equal(await page.getAttribute('html', 'dir'), 'rtl');
      await visit(page, app.base + '/mon-espace/aide/qui-me-suit?langue=falc');
      assert.match(await page.locator('h1').innerText(), /Qui s'occupe de mon suivi/);
      await ctx.close();
    });

    test('the national admin reads the satisfaction results per month', async () => {
      const ctx = await browser.newContext();
      const page = await ctx.newPage();
      await login(page, app.base, 'admin@demo.passerelle.fr');
      await visit(page, app.base + '/admin/satisfaction');
      const table = await page.locator('#table-satisfaction').innerText();
      assert.match(table, /Agents/);
      assert.match(await page.locator('main').innerText(), /Les rappels par SMS marchent bien/);
      await ctx.close();
    });
  });
}

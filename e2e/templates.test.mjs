// Message templates editor: the SPIP's local admin edits the summon text, sees the live and the
// server-side previews with the SMS count, gets the French error for an unknown variable, saves, and goes back to
// the national text — on each database, with an axe-core check of every page visited.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { backends, checkA11y, launchBrowser, login, startPasserelle, visit } from './harness.mjs';

const SUMMON = '/msj/modeles/*/summon/fr';

for (const backend of backends()) {
  describe(`modèles de messages (${backend})`, () => {
    let app, browser;

    before(async () => {
      app = await startPasserelle({ backend });
      browser = await launchBrowser();
    });

    after(async () => {
      await browser?.close();
      await app?.stop();
    });

    test('the local admin edits the summon text with preview, SMS count, error and save', async () => {
      const ctx = await browser.newContext();
      const page = await ctx.newPage();
      await login(page, app.base, 'admin-spip@demo.passerelle.fr');
      await visit(page, app.base + '/msj/modeles');
      assert.equal(await page.locator('h1').innerText(), 'Modèles de messages');
      assert.match(await page.locator('main').innerText(), /SPIP des Hauts-de-Seine/);
      await Promise.all([page.waitForNavigation(), page.click(`a[href="${SUMMON}"]`)]);
      await checkA11y(page);
      assert.match(await page.locator('h1').innerText(), /^Convocation/);
      // The national text, rendered on the sample appointment; "ê" makes it UCS-2.
      assert.match(await page.locator('#apercu-texte').innerText(), /lundi 3 mai 2027 à 14h30/);
      assert.equal(await page.locator('#apercu-encodage').innerText(), 'UCS-2');
      assert.match(await page.locator('#apercu-explication').innerText(), /70 caractères/);

      // Live preview while typing: a GSM-7 text of 161 characters is 2 SMS.
      const long = 'RDV le {rdv.date} a {rdv.heure}. ' + 'x'.repeat(161 - 'RDV le lundi 3 mai 2027 a 14h30. '.length);
      await page.fill('#body', long);
      await page.waitForFunction(() => document.getElementById('apercu-unites').textContent === '161');
      assert.equal(await page.locator('#apercu-encodage').innerText(), 'GSM-7');
      assert.equal(await page.locator('#apercu-segments').innerText(), '2');
      assert.match(await page.locator('#apercu-texte').innerText(), /^RDV le lundi 3 mai 2027 a 14h30\. x+$/);
      await checkA11y(page);

      // Click-to-insert a variable, then the server-side preview (works without JavaScript).
      await page.fill('#body', 'Bonjour, rendez-vous le {rdv.date} à {rdv.heure} : ');
      await page.locator('#body').evaluate((t) => t.setSelectionRange(t.value.length, t.value.length));
      await page.click('button.pa-insert[data-variable="{lieu.nom}"]');
      assert.equal(await page.inputValue('#body'), 'Bonjour, rendez-vous le {rdv.date} à {rdv.heure} : {lieu.nom}');
      await Promise.all([page.waitForNavigation(), page.click('button[value=apercu]')]);
      assert.match(await page.locator('.fr-alert--info').innerText(), /pas encore enregistré/);
      assert.match(await page.locator('#apercu-texte').innerText(), /^Bonjour, rendez-vous le lundi 3 mai 2027 à 14h30 : \S/);
      // The demo place's name has a dash "—", outside the SMS alphabet: the editor names it.
      assert.equal(await page.locator('#apercu-encodage').innerText(), 'UCS-2');
      assert.match(await page.locator('#apercu-speciaux').innerText(), /—/);
      assert.equal(await page.locator('#apercu-segments').innerText(), '1');
      await checkA11y(page);

      // An unknown variable: the live preview says so, and saving is refused next to the field, input kept.
      const bad = 'Bonjour, rendez-vous le {rdv.date} au {rdv.lieu}';
      await page.fill('#body', bad);
      await page.waitForFunction(() => /Variable inconnue/.test(document.getElementById('apercu-erreur').textContent));
      await Promise.all([page.waitForNavigation(), page.click('button[value=enregistrer]')]);
      assert.match(await page.locator('#body-erreur').innerText(), /^Variable inconnue : \{rdv\.lieu\}\./);
      assert.equal(await page.inputValue('#body'), bad);
      await checkA11y(page);

      // A good text is saved, shown as the service's own, and the list says so.
      const good = 'Convocation le {rdv.date} a {rdv.heure} : {lieu.nom}, {lieu.adresse}. Tel {lieu.telephone}';
      await page.fill('#body', good);
      await Promise.all([page.waitForNavigation(), page.click('button[value=enregistrer]')]);
      assert.match(await page.locator('.fr-alert--success').innerText(), /Modèle enregistré/);
      assert.equal(await page.inputValue('#body'), good);
      assert.match(await page.locator('#source-du-texte').innerText(), /Texte de votre service/);
      await checkA11y(page);
      await visit(page, app.base + '/msj/modeles');
      assert.match(await page.locator(`a[href="${SUMMON}"]`).textContent(), /Modifié par votre service/);

      // Back to the national text.
      await visit(page, app.base + SUMMON);
      await Promise.all([page.waitForNavigation(), page.click('button:has-text("Revenir au texte national")')]);
      assert.match(await page.locator('.fr-alert--success').innerText(), /texte national s'applique/);
      assert.match(await page.inputValue('#body'), /^Convocation le /);
      await checkA11y(page);
      await ctx.close();
    });

    test('the national admin edits the national texts; a CPIP has no access', async () => {
      const ctx = await browser.newContext();
      const page = await ctx.newPage();
      await login(page, app.base, 'admin@demo.passerelle.fr');
      await visit(page, app.base + '/msj/modeles');
      assert.match(await page.locator('main').innerText(), /Textes nationaux/);
      await visit(page, app.base + '/msj/modeles/*/reminder/ar');
      assert.equal(await page.locator('#body').getAttribute('dir'), 'rtl');
      await ctx.close();

      const ctx2 = await browser.newContext();
      const page2 = await ctx2.newPage();
      await login(page2, app.base, 'cpip@demo.passerelle.fr');
      const res = await visit(page2, app.base + '/msj/modeles');
      assert.equal(res.status(), 403);
      assert.equal(await page2.locator('nav a[href="/msj/modeles"]').count(), 0);
      await ctx2.close();
    });
  });
}

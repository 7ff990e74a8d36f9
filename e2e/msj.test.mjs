// Mon Suivi Justice, agents' daily flows: search, create a PPSMJ past a duplicate warning, book a
// follow-up in at most 6 interactions, cancel and rebook, record a no-show from the work queue, the SMS warning,
// 404 for an agent of an unrelated SPIP, and the summon in the demo outbox — with axe checks of every page.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  backends, checkA11y, clockNow, frenchHolidays, futureWorkingDay, launchBrowser, login, startPasserelle, visit,
} from './harness.mjs';

/** The first `weekday` (0 = Sunday … 6 = Saturday) at least `daysAhead` days after the service clock, not a holiday. */
function futureWeekday(daysAhead, weekday) {
  const d = new Date(clockNow() + daysAhead * 86400000);
  for (;;) {
    const iso = d.toISOString().slice(0, 10);
    if (d.getUTCDay() === weekday && !frenchHolidays(d.getUTCFullYear()).has(iso)) return iso;
    d.setUTCDate(d.getUTCDate() + 1);
  }
}

for (const backend of backends()) {
  describe(`Mon Suivi Justice — agents (${backend})`, () => {
    let app, browser, ctx, page;
    let dupontUrl;

    before(async () => {
      app = await startPasserelle({ backend });
      browser = await launchBrowser();
      ctx = await browser.newContext();
      page = await ctx.newPage();
      await login(page, app.base, 'cpip@demo.passerelle.fr');
    });

    after(async () => {
      await browser?.close();
      await app?.stop();
    });

    test('menu, list and accent-insensitive search by name, APPI and phone prefix', async () => {
      await visit(page, app.base + '/accueil');
      assert.ok(await page.locator('nav a[href="/msj/personnes"]').count());
      assert.ok(await page.locator('nav a[href="/msj/a-traiter"]').count());
      await visit(page, app.base + '/msj/personnes');
      assert.ok((await page.locator('table tbody tr').count()) >= 20);
      await visit(page, app.base + '/msj/personnes?q=bensaid');
      assert.match(await page.locator('table').innerText(), /BENSAÏD Nadia/);
      assert.match(await page.locator('table').innerText(), /pas de téléphone/i);
      await visit(page, app.base + '/msj/personnes?q=06 11 22');
      assert.match(await page.locator('table').innerText(), /DUPONT Jean/);
      dupontUrl = app.base + (await page.locator('table a', { hasText: 'DUPONT Jean' }).getAttribute('href'));
    });

    test('creating a PPSMJ shows possible duplicates before saving, then creates it once confirmed', async () => {
      await visit(page, app.base + '/msj/personnes/nouvelle');
      await page.fill('#last_name', 'Dupont');
      await page.fill('#first_name', 'Jean');
      await page.fill('#birth_date', '1985-03-12');
      await page.setChecked('#no_phone', true, { force: true });
      await Promise.all([page.waitForNavigation(), page.click('#form-ppsmj button[type=submit]')]);
      await checkA11y(page);
      assert.match(await page.locator('#doublons').innerText(), /Même nom, prénom et date de naissance/);
      assert.equal(new URL(page.url()).pathname, '/msj/personnes/nouvelle', 'nothing saved yet');
      // Field errors keep the input: an invalid phone is refused with a French message.
      await page.setChecked('#no_phone', false, { force: true });
      await page.fill('#phone', '01 47 00 00 00');
      await page.setChecked('#confirm_distinct', true, { force: true });
      await Promise.all([page.waitForNavigation(), page.click('#form-ppsmj button[type=submit]')]);
      await checkA11y(page);
      assert.match(await page.locator('#phone-erreur').innerText(), /fixe/);
      assert.equal(await page.inputValue('#last_name'), 'Dupont');
      await page.fill('#phone', '');
      await page.setChecked('#no_phone', true, { force: true });
      if (await page.locator('#confirm_distinct').count()) await page.setChecked('#confirm_distinct', true, { force: true });
      await Promise.all([page.waitForNavigation(), page.click('#form-ppsmj button[type=submit]')]);
      await checkA11y(page);
      assert.match(page.url(), /\/msj\/personnes\/[0-9a-f-]+\?info=cree/);
      assert.match(await page.locator('.fr-alert--success').innerText(), /Dossier créé/);
      assert.match(await page.locator('#statut-telephone').innerText(), /pas de téléphone/i);
      // Booking for someone without phone: the agent is told no SMS will be sent.
      await page.click('text=Convocation de suivi SPIP');
      await checkA11y(page);
      assert.match(await page.locator('#alerte-sms').innerText(), /Aucun SMS ne sera envoyé/);
    });

    test('a CPIP books a follow-up from the person page in at most 6 interactions and under 45 s', async () => {
      await visit(page, dupontUrl);
      const t0 = Date.now();
      let interactions = 0;
      const act = async (fn) => {
        interactions++;
        await fn();
      };
      await act(() => Promise.all([page.waitForNavigation(), page.click('a:has-text("Convocation de suivi SPIP")')]));
      await act(() => page.fill('#date', futureWorkingDay(9)));
      await act(() => page.fill('#time', '14:30'));
      await act(() => Promise.all([page.waitForNavigation(), page.click('button:has-text("Confirmer le rendez-vous")')]));
      const elapsed = Date.now() - t0;
      assert.ok(interactions <= 6, `${interactions} interactions`);
      assert.ok(elapsed < 45000, `${elapsed} ms`);
      await checkA11y(page);
      assert.match(await page.locator('.fr-alert--success').innerText(), /Rendez-vous planifié/);
      assert.match(await page.locator('#rdv-a-venir').innerText(), /Convocation de suivi SPIP/);
      assert.match(await page.locator('#messages').innerText(), /Convocation le .* à 14h30/);
      assert.match(await page.locator('#messages').innerText(), /Rappel/);
    });

    test('cancel with a reason and rebook, all in the history', async () => {
      await visit(page, dupontUrl);
      await Promise.all([page.waitForNavigation(), page.locator('#rdv-a-venir a').first().click()]);
      await checkA11y(page);
      await Promise.all([page.waitForNavigation(), page.click('a:has-text("Replanifier")')]);
      await checkA11y(page);
      await page.fill('#date', futureWorkingDay(16));
      await page.fill('#time', '10:00');
      await page.fill('#reason', 'Demande de la personne (travail)');
      await Promise.all([page.waitForNavigation(), page.click('button:has-text("Confirmer le rendez-vous")')]);
      await checkA11y(page);
      assert.match(await page.locator('.fr-alert--success').innerText(), /replanifié/);
      assert.match(await page.locator('#historique').innerText(), /Rendez-vous replanifié/);
      assert.match(await page.locator('#messages').innerText(), /Votre rendez-vous est déplacé/);
      assert.match(await page.locator('#messages').innerText(), /Annulé/, 'the old reminder is canceled');
      // Cancel the new one.
      await Promise.all([page.waitForNavigation(), page.locator('#rdv-a-venir a', { hasText: '10h00' }).first().click()]);
      await page.click('button:has-text("Annuler le rendez-vous")');
      await checkA11y(page);
      assert.match(await page.locator('.fr-alert--error').innerText(), /motif/);
      await page.fill('#reason', 'Incarcération');
      await Promise.all([page.waitForNavigation(), page.click('button:has-text("Annuler le rendez-vous")')]);
      await checkA11y(page);
      assert.match(await page.locator('.fr-alert--success').innerText(), /annulé/);
      assert.match(await page.locator('#historique').innerText(), /motif : Incarcération/);
      assert.match(await page.locator('#messages').innerText(), /est annulé/);
    });

    test('the work queue records a no-show in one click', async () => {
      await visit(page, app.base + '/msj/a-traiter');
      const row = page.locator('#a-traiter tr', { hasText: 'LEBRUN Kévin' });
      assert.equal(await row.count(), 1);
      await Promise.all([page.waitForNavigation(), row.locator('button:has-text("Absent")').click()]);
      await checkA11y(page);
      assert.match(await page.locator('.fr-alert--success').innerText(), /Résultat du rendez-vous enregistré/);
      assert.equal(await page.locator('#a-traiter tr', { hasText: 'LEBRUN Kévin' }).count(), 0);
      await visit(page, app.base + '/msj/personnes?q=lebrun');
      await Promise.all([page.waitForNavigation(), page.click('table a:has-text("LEBRUN Kévin")')]);
      await checkA11y(page);
      assert.match(await page.locator('#rdv-passes').innerText(), /absent/i);
      assert.match(await page.locator('#historique').innerText(), /Résultat saisi : Absent/);
      assert.match(await page.locator('#messages').innerText(), /Vous avez manqué votre rendez-vous/);
    });

    test('impossible free times are refused, a Saturday is confirmed, a cancellation can stay silent', async () => {
      await visit(page, dupontUrl);
      await Promise.all([page.waitForNavigation(), page.click('a:has-text("Convocation de suivi SPIP")')]);
      const sunday = futureWeekday(20, 0);
      await page.fill('#date', sunday);
      await page.fill('#time', '10:00');
      await Promise.all([page.waitForNavigation(), page.click('button:has-text("Confirmer le rendez-vous")')]);
      await checkA11y(page);
      assert.match(await page.locator('#erreur-planification').innerText(), /fermé le dimanche/);
      assert.equal(await page.inputValue('#date'), sunday, 'the input is kept');
      await page.fill('#date', futureWorkingDay(20));
      await page.fill('#time', '03:00');
      await Promise.all([page.waitForNavigation(), page.click('button:has-text("Confirmer le rendez-vous")')]);
      assert.match(await page.locator('#erreur-planification').innerText(), /horaires d'ouverture, de 8h00 à 19h00/);
      await page.fill('#date', futureWeekday(20, 6));
      await page.fill('#time', '11:15');
      await Promise.all([page.waitForNavigation(), page.click('button:has-text("Confirmer le rendez-vous")')]);
      await checkA11y(page);
      assert.match(await page.locator('#erreur-planification').innerText(), /samedi/);
      await page.setChecked('#samedi', true, { force: true });
      await Promise.all([page.waitForNavigation(), page.click('button:has-text("Confirmer le rendez-vous")')]);
      assert.match(await page.locator('.fr-alert--success').innerText(), /Rendez-vous planifié/);
      // Cancel it without telling the person: no cancellation message for this appointment.
      await Promise.all([page.waitForNavigation(), page.locator('#rdv-a-venir a', { hasText: '11h15' }).first().click()]);
      const apptUrl = page.url();
      await checkA11y(page);
      assert.ok(await page.isChecked('#prevenir'), 'telling the person is the default');
      await page.fill('#reason', 'Erreur de saisie');
      await page.setChecked('#prevenir', false, { force: true });
      await Promise.all([page.waitForNavigation(), page.click('button:has-text("Annuler le rendez-vous")')]);
      assert.match(await page.locator('.fr-alert--success').innerText(), /annulé/);
      await visit(page, apptUrl);
      assert.match(await page.locator('#etat-rdv').innerText(), /Annulé/i);
      assert.doesNotMatch(await page.locator('main').innerText(), /est annulé/);
    });

    test('a missed appointment is replaced from its page, linked to it', async () => {
      await visit(page, app.base + '/msj/personnes?q=lebrun');
      await Promise.all([page.waitForNavigation(), page.click('table a:has-text("LEBRUN Kévin")')]);
      await Promise.all([page.waitForNavigation(), page.locator('#rdv-passes tr', { hasText: 'Absent' }).locator('a').first().click()]);
      await checkA11y(page);
      assert.equal(await page.locator('button:has-text("Annuler le rendez-vous")').count(), 0, 'a past appointment is not canceled');
      await Promise.all([page.waitForNavigation(), page.click('#planifier-remplacement')]);
      await checkA11y(page);
      if (await page.locator('#date').count()) {
        await page.fill('#date', futureWorkingDay(12));
        await page.fill('#time', '15:45');
      } else {
        await page.locator('#creneaux input[type=radio]').first().check({ force: true });
      }
      await Promise.all([page.waitForNavigation(), page.click('button:has-text("Confirmer le rendez-vous")')]);
      await checkA11y(page);
      assert.match(await page.locator('.fr-alert--success').innerText(), /replanifié|planifié/);
      assert.match(await page.locator('#rdv-passes').innerText(), /absent/i, 'the missed one keeps its outcome');
      await Promise.all([page.waitForNavigation(), page.locator('#rdv-a-venir a').first().click()]);
      assert.match(await page.locator('main').innerText(), /Remplace/);
    });

    test('the summon is in the demo outbox', async () => {
      await visit(page, app.base + '/demo/messages');
      const text = await page.locator('main').innerText();
      assert.match(text, /\+33611223344/);
      assert.match(text, /Convocation le /);
    });

    test('an agent of an unrelated SPIP gets the DSFR 404 on a PPSMJ and an appointment', async () => {
      await visit(page, dupontUrl);
      const apptHref = await page.locator('#rdv-passes a').first().getAttribute('href');
      const other = await browser.newContext();
      const p2 = await other.newPage();
      await login(p2, app.base, 'cpip-paris@demo.passerelle.fr');
      for (const url of [dupontUrl, app.base + apptHref, dupontUrl.replace(/\?.*$/, '') + '/rendez-vous/nouveau']) {
        const res = await p2.goto(url);
        assert.equal(res.status(), 404, url);
        assert.match(await p2.locator('h1').innerText(), /Page non trouvée/);
        await checkA11y(p2);
      }
      await visit(p2, app.base + '/msj/personnes?q=dupont');
      assert.equal(await p2.locator('table').count(), 0);
      await other.close();
    });
  });
}

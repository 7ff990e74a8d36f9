// Mon espace, the person's own space: the documented demo person signs in with a code read on the
// demo outbox (by their referent, signed in separately), sees their appointments, downloads and parses the .ics,
// confirms one, asks to change another (the agent refuses with a message, the person reads it), changes their
// phone with a code sent to the new number, and switches to Arabic (dir=rtl) and English — at 360×740 and at
// desktop size, with axe checks of every page.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';

import { backends, checkA11y, launchBrowser, login, startPasserelle, visit } from './harness.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

for (const backend of backends()) {
  describe(`Mon espace — personne suivie (${backend})`, () => {
    let app, browser, agentCtx, agent, mobileCtx, mobile, desktopCtx, desktop;
    const seen = new Set();

    /** The newest code sent to `recipient`, as the referent reads it on the demo outbox. */
    async function readCode(recipient) {
      for (let i = 0; i < 50; i++) {
        await agent.goto(app.base + '/demo/messages');
        const rows = await agent
          .locator('table tbody tr')
          .evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.innerText.trim())));
        for (const r of rows) {
          const m = r[2] === recipient && /code[^\d]*(\d{6})/.exec(r[4]);
          if (m && !seen.has(m[1])) {
            seen.add(m[1]);
            return m[1];
          }
          if (m) break;
        }
        await sleep(200);
      }
      throw new Error('no new code for ' + recipient);
    }

    async function signIn(page, identifier, recipient) {
      await visit(page, app.base + '/mon-espace');
      await page.fill('#identifiant', identifier);
      await Promise.all([page.waitForNavigation(), page.click('#form-connexion button[type=submit]')]);
      assert.equal(new URL(page.url()).pathname, '/mon-espace/code');
      await checkA11y(page);
      const code = await readCode(recipient);
      await page.fill('#code', code);
      await Promise.all([page.waitForNavigation(), page.click('#form-code button[type=submit]')]);
      assert.equal(new URL(page.url()).pathname, '/mon-espace');
      await checkA11y(page);
    }

    before(async () => {
      app = await startPasserelle({ backend, env: { PASSERELLE_QUIET_HOURS: 'aucune' } });
      browser = await launchBrowser();
      agentCtx = await browser.newContext();
      agent = await agentCtx.newPage();
      await login(agent, app.base, 'cpip@demo.passerelle.fr');
      mobileCtx = await browser.newContext({ viewport: { width: 360, height: 740 }, acceptDownloads: true });
      mobile = await mobileCtx.newPage();
      desktopCtx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      desktop = await desktopCtx.newPage();
    });

    after(async () => {
      await browser?.close();
      await app?.stop();
    });

    test('a wrong number and a wrong code get plain French answers; the right code opens the space', async () => {
      await visit(mobile, app.base + '/mon-espace');
      await mobile.fill('#identifiant', 'bonjour');
      await Promise.all([mobile.waitForNavigation(), mobile.click('#form-connexion button[type=submit]')]);
      await checkA11y(mobile);
      assert.match(await mobile.locator('#identifiant-erreur').innerText(), /Tapez un numéro de portable/);
      await signIn(mobile, '06 12 34 56 78', '+33612345678');
      assert.match(await mobile.locator('h1').innerText(), /Bonjour Yasmine/);
      assert.ok(await mobile.locator('#prochain-rendez-vous').count());
    });

    test('my appointments: details, calendar file, "Je viendrai"', async () => {
      await visit(mobile, app.base + '/mon-espace/rendez-vous');
      assert.ok((await mobile.locator('#a-venir li').count()) >= 3);
      assert.ok((await mobile.locator('#passes li').count()) >= 3);
      assert.match(await mobile.locator('#a-venir').innerText(), /à \d{1,2} h \d{2}/);
      await Promise.all([mobile.waitForNavigation(), mobile.locator('#a-venir a').first().click()]);
      await checkA11y(mobile);
      const details = await mobile.locator('#detail-rendez-vous').innerText();
      assert.match(details, /Documents à apporter/);
      assert.match(details, /Claire Dubois/);
      assert.match(await mobile.locator('a[href^="https://www.openstreetmap.org/search?query="]').getAttribute('href'), /Nanterre/);
      assert.ok(await mobile.locator('a[href^="tel:+33"]').count());

      const [download] = await Promise.all([mobile.waitForEvent('download'), mobile.click('#ajouter-agenda')]);
      const ics = readFileSync(await download.path(), 'utf8');
      const lines = ics.split('\r\n').reduce((acc, l) => {
        if (l.startsWith(' ')) acc[acc.length - 1] += l.slice(1);
        else if (l) acc.push(l);
        return acc;
      }, []);
      assert.equal(lines[0], 'BEGIN:VCALENDAR');
      assert.equal(lines.at(-1), 'END:VCALENDAR');
      const dtstart = lines.find((l) => l.startsWith('DTSTART:')).slice(8);
      assert.match(dtstart, /^\d{8}T\d{6}Z$/);
      const start = Date.UTC(+dtstart.slice(0, 4), +dtstart.slice(4, 6) - 1, +dtstart.slice(6, 8), +dtstart.slice(9, 11), +dtstart.slice(11, 13));
      assert.ok(start > Date.now(), 'an upcoming appointment');
      assert.match(lines.find((l) => l.startsWith('LOCATION:')), /Trois Fontanot/);

      await Promise.all([mobile.waitForNavigation(), mobile.click('#form-confirmer button')]);
      await checkA11y(mobile);
      assert.match(await mobile.locator('.fr-alert').innerText(), /sait que vous viendrez/);
      assert.equal(await mobile.locator('#form-confirmer').count(), 0);
    });

    test('a change request with a reason reaches the referent, whose refusal the person reads', async () => {
      await visit(mobile, app.base + '/mon-espace/rendez-vous');
      await Promise.all([mobile.waitForNavigation(), mobile.locator('#a-venir a').nth(1).click()]);
      const appointmentUrl = mobile.url();
      await Promise.all([mobile.waitForNavigation(), mobile.click('#form-changement button')]);
      await checkA11y(mobile);
      assert.match(await mobile.locator('#motif-erreur').innerText(), /Expliquez pourquoi/);
      await mobile.fill('#motif', "J'ai un entretien d'embauche ce jour-là.");
      await Promise.all([mobile.waitForNavigation(), mobile.click('#form-changement button')]);
      await checkA11y(mobile);
      assert.match(await mobile.locator('.fr-alert').innerText(), /Votre demande est envoyée/);

      await visit(agent, app.base + '/msj/a-traiter');
      const table = agent.locator('#demandes-personne');
      assert.match(await table.innerText(), /entretien d'embauche/);
      assert.match(await table.innerText(), /HADDAD Yasmine/);
      assert.ok(await table.locator('a:has-text("Replanifier")').count());
      await table.locator('textarea[name=reponse]').first().fill('Rendez-vous maintenu : apportez une attestation de votre employeur.');
      await Promise.all([agent.waitForNavigation(), table.locator('button:has-text("Refuser le changement")').first().click()]);
      await checkA11y(agent);
      assert.match(await agent.locator('.fr-alert').innerText(), /Refus envoyé/);

      await visit(mobile, appointmentUrl);
      assert.match(await mobile.locator('#reponse-conseiller').innerText(), /attestation de votre employeur/);
    });

    test('a proof sent on an appointment is seen by the referent, and the person sees "vu"', async () => {
      await visit(mobile, app.base + '/mon-espace/rendez-vous');
      await Promise.all([mobile.waitForNavigation(), mobile.locator('#a-venir a').first().click()]);
      const appointmentUrl = mobile.url();
      const png = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.alloc(2048, 7)]);
      await mobile.setInputFiles('#fichier', { name: 'attestation.png', mimeType: 'image/png', buffer: png });
      await Promise.all([mobile.waitForNavigation(), mobile.click('#form-justificatif button')]);
      await checkA11y(mobile);
      assert.match(await mobile.locator('.fr-alert').innerText(), /Document envoyé/);
      assert.match(await mobile.locator('#mes-justificatifs').innerText(), /attestation\.png[\s\S]*Pas encore vu/i);
      // A file of another type is refused with a plain message.
      await mobile.setInputFiles('#fichier', { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('bonjour') });
      await Promise.all([mobile.waitForNavigation(), mobile.click('#form-justificatif button')]);
      await checkA11y(mobile);
      assert.match(await mobile.locator('#fichier-erreur').innerText(), /pas accepté/);

      const id = new URL(appointmentUrl).pathname.split('/').pop();
      await visit(agent, app.base + '/msj/rendez-vous/' + id);
      assert.match(await agent.locator('#justificatifs').innerText(), /attestation\.png/);
      await Promise.all([agent.waitForNavigation(), agent.click('#justificatifs button:has-text("Marquer comme vu")')]);
      await checkA11y(agent);
      assert.match(await agent.locator('#justificatifs').innerText(), /Vu le/i);
      await visit(mobile, appointmentUrl);
      assert.match(await mobile.locator('#mes-justificatifs').innerText(), /Vu par votre conseiller/i);
    });

    test('my contacts: referent and services with click-to-call', async () => {
      await visit(mobile, app.base + '/mon-espace/contacts');
      assert.match(await mobile.locator('#referent').innerText(), /Claire Dubois/);
      assert.match(await mobile.locator('#services').innerText(), /SPIP des Hauts-de-Seine/);
      assert.ok(await mobile.locator('#services a[href^="tel:+33"]').count());
    });

    test('a new phone number is verified by a code sent to it', async () => {
      await visit(mobile, app.base + '/mon-espace/coordonnees');
      await mobile.fill('#telephone', '07 11 22 33 44');
      await Promise.all([mobile.waitForNavigation(), mobile.click('#form-telephone button')]);
      assert.equal(new URL(mobile.url()).pathname, '/mon-espace/coordonnees/code');
      await checkA11y(mobile);
      const code = await readCode('+33711223344');
      await mobile.fill('#code', code);
      await Promise.all([mobile.waitForNavigation(), mobile.click('#form-code button')]);
      await checkA11y(mobile);
      assert.match(await mobile.locator('.fr-alert').innerText(), /coordonnées sont changées/);
      assert.match(await mobile.locator('#coordonnees-actuelles').innerText(), /07 11 22 33 44/);
    });

    test('the pages switch to Arabic (right to left) and English', async () => {
      await visit(mobile, app.base + '/mon-espace/rendez-vous');
      await Promise.all([mobile.waitForNavigation(), mobile.click('#langues a[hreflang="ar"]')]);
      await checkA11y(mobile);
      assert.equal(await mobile.getAttribute('html', 'dir'), 'rtl');
      assert.equal(await mobile.getAttribute('html', 'lang'), 'ar');
      assert.match(await mobile.locator('h1').innerText(), /مواعيدي/);
      await Promise.all([mobile.waitForNavigation(), mobile.click('#langues a[hreflang="en"]')]);
      await checkA11y(mobile);
      assert.equal(await mobile.getAttribute('html', 'dir'), 'ltr');
      assert.match(await mobile.locator('#a-venir').innerText(), /(Monday|Tuesday|Wednesday|Thursday|Friday) \d{1,2} \w+ \d{4} at \d{2}:\d{2}/);
      await Promise.all([mobile.waitForNavigation(), mobile.click('#langues a[lang="fr"]:has-text("Français")')]);
    });

    test('at desktop size, by e-mail: every page of the space passes axe', async () => {
      await signIn(desktop, 'personne@demo.passerelle.fr', 'personne@demo.passerelle.fr');
      for (const p of ['/mon-espace/rendez-vous', '/mon-espace/contacts', '/mon-espace/coordonnees']) {
        await visit(desktop, app.base + p);
      }
      await visit(desktop, app.base + '/mon-espace/rendez-vous');
      await Promise.all([desktop.waitForNavigation(), desktop.locator('#a-venir a').first().click()]);
      await checkA11y(desktop);
      await Promise.all([desktop.waitForNavigation(), desktop.click('#langues a[hreflang="ar"]')]);
      await checkA11y(desktop);
      assert.equal(await desktop.getAttribute('html', 'dir'), 'rtl');
      // Someone else's (or no) appointment: a 404 in the space's language and layout.
      const res = await visit(desktop, app.base + '/mon-espace/rendez-vous/00000000-0000-0000-0000-000000000000');
      assert.equal(res.status(), 404);
      assert.match(await desktop.locator('h1').innerText(), /الصفحة غير موجودة/);
      // An agent's session does not open the space, and the person's does not open agents' pages.
      await visit(agent, app.base + '/mon-espace/rendez-vous');
      assert.equal(new URL(agent.url()).pathname, '/mon-espace');
      assert.ok(await agent.locator('#identifiant').count());
      await desktop.goto(app.base + '/msj/personnes');
      assert.equal(new URL(desktop.url()).pathname, '/connexion');
    });
  });
}

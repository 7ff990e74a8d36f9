// Mon Suivi Justice administration: a local admin configures a place, an agenda and a weekly slot and
// sees the slots; the agenda of the day downloads as a PDF whose text holds the place and the date; an APPI file
// with a bad row is refused with a row report and nothing imported; the statistics page shows a chart beside its
// data table. axe-core checks every page visited.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { backends, checkA11y, launchBrowser, login, startPasserelle, visit } from './harness.mjs';

const PLACE = 'Lieu e2e — Nanterre';
const AGENDA = 'Salle e2e';
const HEADER = 'Numéro APPI;Nom;Prénom;Date de naissance;Téléphone\r\n';
const GOOD_ROW = '19998765;Lefèvre;Gaëlle;02/03/1990;06 98 76 54 32\r\n';
const BAD_ROW = '12;Durand;Léa;31/02/1991;\r\n';

function pdfText(bytes) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'msj-pdf-'));
  try {
    const file = path.join(dir, 'doc.pdf');
    writeFileSync(file, bytes);
    return execFileSync('pdftotext', ['-enc', 'UTF-8', file, '-']).toString('utf8').replace(/\s+/g, ' ');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const backend of backends()) {
  describe(`MSJ administration (${backend})`, () => {
    let app, browser, ctx, page, dataDir;

    before(async () => {
      dataDir = mkdtempSync(path.join(os.tmpdir(), 'passerelle-msj-admin-'));
      app = await startPasserelle({ backend, env: { PASSERELLE_DATA_DIR: dataDir } });
      browser = await launchBrowser();
      ctx = await browser.newContext();
      page = await ctx.newPage();
      await login(page, app.base, 'admin-spip@demo.passerelle.fr');
      assert.equal(new URL(page.url()).pathname, '/accueil');
    });

    after(async () => {
      await ctx?.close();
      await browser?.close();
      await app?.stop();
      rmSync(dataDir, { recursive: true, force: true });
    });

    let agendaUrl, slotWeekUrl;

    test('a local admin creates a place, an agenda and a weekly slot, and sees the slots', async () => {
      await visit(page, app.base + '/msj/lieux');
      assert.equal(await page.locator('h1').innerText(), 'Lieux et agendas');
      await page.fill('#name', PLACE);
      await page.fill('#address', "5 rue de l'Université, 92000 Nanterre");
      await page.fill('#phone', '01 40 97 10 10');
      await page.fill('#documents_to_bring', 'Justificatif de domicile');
      await Promise.all([page.waitForNavigation(), page.click('button:has-text("Créer le lieu")')]);
      assert.match(new URL(page.url()).pathname, /^\/msj\/lieux\/[^/]+$/);
      assert.equal(await page.locator('h1').innerText(), PLACE);
      await checkA11y(page);

      await page.click('label[for="type-sortie_audience_spip"]');
      await Promise.all([page.waitForNavigation(), page.click('button:has-text("Enregistrer les types proposés")')]);
      assert.ok(await page.isChecked('#type-sortie_audience_spip'));

      await page.fill('#agenda-name', AGENDA);
      await Promise.all([page.waitForNavigation(), page.click('button:has-text("Créer l\'agenda")')]);
      assert.match(new URL(page.url()).pathname, /^\/msj\/agendas\/[^/]+$/);
      agendaUrl = app.base + new URL(page.url()).pathname;
      await checkA11y(page);

      await page.selectOption('#appointment_type_id', 'sortie_audience_spip');
      await page.click('label[for="weekday-2"]');
      await page.fill('#start', '09:30');
      await page.fill('#duration_minutes', '30');
      await page.fill('#capacity', '2');
      await Promise.all([page.waitForNavigation(), page.click('button:has-text("Ajouter et générer les créneaux")')]);
      assert.match(await page.locator('.fr-alert--success').innerText(), /créneaux des six prochains mois/);
      // the page opens on the week of the first slot generated, whatever the day and hour of the test
      slotWeekUrl = page.url();
      assert.match(new URL(slotWeekUrl).search, /semaine=\d{4}-\d{2}-\d{2}/);
      const row = page.locator('tr:has-text("09h30")').first();
      assert.match(await row.innerText(), /0 \/ 2/);
      assert.match(await row.innerText(), /Ouvert/i);
      assert.match(await page.locator('table').first().innerText(), /Mardi\s+9h30\s+30 min\s+2\s+Sortie d'audience SPIP/);
      await checkA11y(page);
      await page.screenshot({ path: path.join(os.tmpdir(), `msj-admin-agenda-${backend}.png`), fullPage: true });

      // a series: Thursday and Friday, 14:00 to 15:00 every 30 minutes; an interval of 0 is refused first
      await page.selectOption('#appointment_type_id', 'sortie_audience_spip');
      await page.click('label[for="weekday-4"]');
      await page.click('label[for="weekday-5"]');
      await page.fill('#start', '14:00');
      await page.fill('#end', '15:00');
      await page.fill('#every', '0');
      await page.fill('#duration_minutes', '30');
      await page.fill('#capacity', '1');
      await Promise.all([page.waitForNavigation(), page.click('button:has-text("Ajouter et générer les créneaux")')]);
      await checkA11y(page);
      assert.match(await page.locator('#every-erreur').innerText(), /intervalle/);
      assert.equal(await page.inputValue('#end'), '15:00', 'the input is kept');
      assert.ok(await page.isChecked('#weekday-5'));
      await page.fill('#every', '30');
      await Promise.all([page.waitForNavigation(), page.click('button:has-text("Ajouter et générer les créneaux")')]);
      assert.match(await page.locator('.fr-alert--success').innerText(), /créneaux des six prochains mois/);
      const types = await page.locator('table').first().innerText();
      for (const line of [/Jeudi\s+14h00/, /Jeudi\s+14h30/, /Jeudi\s+15h00/, /Vendredi\s+14h00/, /Vendredi\s+15h00/]) assert.match(types, line);
      await page.goto(slotWeekUrl);

      // close the slot, then change the capacity of another one
      await Promise.all([page.waitForNavigation(), row.locator('button:has-text("Fermer")').click()]);
      assert.match(await page.locator('tr:has-text("09h30")').first().innerText(), /Fermé/i);
      await checkA11y(page);
    });

    test('the agenda of the day downloads as a PDF holding the place and the date', async () => {
      await page.goto(slotWeekUrl);
      const next = page.locator('tr:has-text("09h30")').first();
      await next.waitFor();
      // the day heading above the slot's table
      const { date, label } = await next.evaluate((tr) => {
        let el = tr.closest('.fr-table');
        while (el && el.tagName !== 'H3') el = el.previousElementSibling;
        return { date: el.id.replace('jour-', ''), label: el.textContent.trim() };
      });
      const href = `${agendaUrl}/jour/${date}.pdf`;
      assert.equal(await page.locator(`a[href$="/jour/${date}.pdf"]`).count(), 1);
      const res = await page.request.get(href);
      assert.equal(res.status(), 200);
      assert.equal(res.headers()['content-type'], 'application/pdf');
      const text = pdfText(await res.body());
      assert.ok(text.includes(PLACE), text);
      assert.ok(text.includes(AGENDA), text);
      const frenchDate = label.charAt(0).toLowerCase() + label.slice(1);
      assert.ok(text.includes(`Agenda du ${frenchDate}`), `${frenchDate} in ${text}`);
      assert.ok(text.includes('09h30'), text);
      assert.ok(text.includes('MINISTÈRE'), text);
    });

    test('an APPI file with a bad row shows the row report and imports nothing', async () => {
      await visit(page, app.base + '/msj/import-appi');
      await page.setInputFiles('#fichier', {
        name: 'export-appi.csv',
        mimeType: 'text/csv',
        buffer: Buffer.from(HEADER + GOOD_ROW + BAD_ROW, 'latin1'),
      });
      await Promise.all([page.waitForNavigation(), page.click('button:has-text("Importer")')]);
      assert.match(await page.locator('.fr-alert--error').innerText(), /aucun dossier n'a été importé/);
      const report = await page.locator('#rapport table').innerText();
      assert.match(report, /3\s+Numéro APPI invalide/);
      assert.match(report, /Date de naissance/);
      await checkA11y(page);
      await page.screenshot({ path: path.join(os.tmpdir(), `msj-admin-import-${backend}.png`), fullPage: true });

      // the good row was not imported: importing it alone now creates it (not "already present")
      await page.setInputFiles('#fichier', {
        name: 'export-appi.csv',
        mimeType: 'text/csv',
        buffer: Buffer.from(HEADER + GOOD_ROW, 'latin1'),
      });
      await Promise.all([page.waitForNavigation(), page.click('button:has-text("Importer")')]);
      assert.match(await page.locator('#rapport').innerText(), /Dossiers créés : 1/);
      assert.match(await page.locator('#rapport').innerText(), /Déjà présents \(même numéro APPI, même personne\) : 0/);
      await checkA11y(page);
    });

    test('the statistics page shows a chart beside its data table, and the CSV export', async () => {
      if (backend === 'sqlite') {
        // Small direct setup: two appointments of the imported person in the new agenda, one honoured, one missed,
        // in 2024 — before any of the demo data set, so the figures of that period are exactly these two.
        const db = path.join(dataDir, 'passerelle.db');
        const insert = (id, state, startsAt, localDate) =>
          `INSERT INTO appointments (id, ppsmj_id, agenda_id, place_id, organisation_id, appointment_type_id, starts_at, local_date, state, created_by_label, created_at, updated_at)
           SELECT '${id}', p.id, a.id, a.place_id, a.organisation_id, 'sortie_audience_spip', ${startsAt}, '${localDate}', '${state}', 'e2e', ${startsAt}, ${startsAt}
           FROM ppsmj p, agendas a WHERE p.appi_number = '19998765' AND a.name = '${AGENDA}';`;
        execFileSync('sqlite3', [
          db,
          insert('e2e-1', 'no_show', 1704103200, '2024-01-01') + insert('e2e-2', 'fulfilled', 1706781600, '2024-02-01'),
        ]);
      }
      await page.goto(app.base + '/msj/statistiques?du=2024-01-01&au=2024-12-31');
      assert.equal(await page.locator('h1').innerText(), 'Statistiques');
      const monthTable = page.locator('table:has(caption:has-text("Taux d\'absentéisme par mois"))');
      assert.equal(await monthTable.count(), 1);
      if (backend === 'sqlite') {
        assert.match(await monthTable.innerText(), /janvier 2024\s+0\s+1\s+0\s+100,0 %/);
        assert.match(await monthTable.innerText(), /février 2024\s+1\s+0\s+0\s+0,0 %/);
        await page.locator('bar-chart canvas').first().waitFor({ timeout: 15000 });
        assert.ok((await page.locator('bar-chart').count()) >= 1);
        assert.match(await page.locator('.fr-callout').first().innerText(), /50,0 %/);
      }
      await checkA11y(page);
      await page.screenshot({ path: path.join(os.tmpdir(), `msj-admin-stats-${backend}.png`), fullPage: true });

      const csv = await page.request.get(app.base + '/msj/statistiques.csv?du=2024-01-01&au=2024-12-31');
      assert.equal(csv.status(), 200);
      const body = await csv.body();
      assert.deepEqual([...body.subarray(0, 3)], [0xef, 0xbb, 0xbf]);
      const lines = body.subarray(3).toString('utf8').trim().split('\r\n');
      assert.match(lines[0], /^Mois;Service;Agenda;Type de rendez-vous;/);
      if (backend === 'sqlite') {
        assert.equal(lines.length, 3);
        assert.match(lines[1], /^2024-01;SPIP des Hauts-de-Seine;Salle e2e;Sortie d'audience SPIP;0;1;0;1;100,0$/);
      }
    });

    test('the statistics page compares absenteeism with and without SMS reminders, at 360 px too', async () => {
      await page.goto(app.base + '/msj/statistiques?du=2024-01-01&au=2024-12-31');
      assert.equal(await page.locator('h2#effet-rappels').innerText(), 'Effet des rappels SMS');
      const byService = page.locator('table:has(caption:has-text("Effet des rappels SMS par service"))');
      assert.equal(await byService.count(), 1);
      const phases = page.locator('table:has(caption:has-text("Avant et après le début des rappels SMS"))');
      assert.equal(await phases.count(), 1);
      if (backend === 'sqlite') {
        // The two 2024 appointments of the imported person (a mobile): 1 no-show of 2 with reminders, nobody
        // without; 2024 is before the demo SPIP started reminders (six months ago).
        assert.match(await byService.innerText(), /SPIP des Hauts-de-Seine\s+2\s+1\s+50,0 %\s+0\s+0\s+—\s+0/);
        assert.match(await phases.innerText(), /Avant le /);
      }
      // The local admin may set the start date; saving keeps the figures and says so.
      assert.equal(await page.locator('#debut_rappels').count(), 1);
      await Promise.all([page.waitForNavigation(), page.click('button:has-text("Enregistrer la date")')]);
      assert.match(await page.locator('.fr-notice, .fr-alert').first().innerText(), /date de début des rappels SMS a été enregistrée/);
      await checkA11y(page);
      const size = page.viewportSize();
      await page.setViewportSize({ width: 360, height: 740 });
      try {
        await checkA11y(page);
        await page.screenshot({ path: path.join(os.tmpdir(), `msj-admin-impact-360-${backend}.png`), fullPage: true });
      } finally {
        await page.setViewportSize(size);
      }

      const csv = await page.request.get(app.base + '/msj/statistiques/impact.csv?du=2024-01-01&au=2024-12-31');
      assert.equal(csv.status(), 200);
      const body = await csv.body();
      assert.deepEqual([...body.subarray(0, 3)], [0xef, 0xbb, 0xbf]);
      const lines = body.subarray(3).toString('utf8').trim().split('\r\n');
      assert.match(lines[0], /^Mois;Service;Type de rendez-vous;Groupe;Période;Début des rappels;/);
      if (backend === 'sqlite') {
        assert.equal(lines.length, 3);
        assert.match(lines[1], /^2024-01;SPIP des Hauts-de-Seine;Sortie d'audience SPIP;Avec rappels SMS;Avant;\d{4}-\d{2}-\d{2};0;1;0;1;0;100,0$/);
      }
    });

    test('the local admin sets the opening hours; a wrong range is refused with the input kept', async () => {
      await visit(page, app.base + '/msj/horaires');
      await checkA11y(page);
      assert.equal(await page.inputValue('#opens'), '08:00');
      assert.equal(await page.inputValue('#closes'), '19:00');
      assert.ok(await page.isChecked('#j6'), 'Saturday open by default');
      assert.ok(!(await page.isChecked('#j7')), 'Sunday closed by default');
      await page.fill('#closes', '07:00');
      await Promise.all([page.waitForNavigation(), page.click('button:has-text("Enregistrer les horaires")')]);
      await checkA11y(page);
      assert.match(await page.locator('#erreur-horaires').innerText(), /fermeture doit être après/);
      assert.equal(await page.inputValue('#closes'), '07:00');
      await page.fill('#closes', '18:30');
      await Promise.all([page.waitForNavigation(), page.click('button:has-text("Enregistrer les horaires")')]);
      assert.match(await page.locator('.fr-alert--success').innerText(), /Horaires d'ouverture enregistrés/);
      assert.equal(await page.inputValue('#closes'), '18:30');
    });

    test('the divestment list is accessible', async () => {
      await visit(page, app.base + '/msj/dessaisissements');
      assert.equal(await page.locator('h1').innerText(), 'Dessaisissements');
    });
  });
}

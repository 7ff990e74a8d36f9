// Info Parquet in a real browser, on each database, with an axe-core check of every page visited:
// an agent files an urgent referral through the wizard; the parquet sees it on top of its inbox, acknowledges,
// registers and dismisses it (classement sans suite) with a reason; the agent sees the decision and the art. 40-3
// notice; an agent of another administration gets the DSFR 404; a manager creates and revokes an API token.
// The PDF acknowledgement's text is read back with pdftotext. Attachments go through a real clamd (EICAR refused,
// a clean file stored encrypted and downloaded back identical by the parquet).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { EICAR, backends, checkA11y, clockNow, launchBrowser, login, startClamd, startPasserelle, visit } from './harness.mjs';

const PV = Buffer.from('%PDF-1.4\n% Procès-verbal de constat — inspection du travail\n1 0 obj << >> endobj\n%%EOF\n', 'latin1');

const AGENT = 'agent@demo-inspection.passerelle.fr';
const PARQUET = 'parquet@demo.passerelle.fr';
const OTHER_ADMINISTRATION = 'agent@demo-dgfip.passerelle.fr';
const MANAGER = 'responsable@demo-inspection.passerelle.fr';

function isoDay(offset) {
  const d = new Date(clockNow() + offset * 86400000);
  return d.toISOString().slice(0, 10);
}

/** Clicks a submit button and waits for the page it leads to, then checks its accessibility. */
async function submit(page, selector) {
  await Promise.all([page.waitForNavigation(), page.click(selector)]);
  await checkA11y(page);
}

for (const backend of backends()) {
  describe(`Info Parquet (${backend})`, () => {
    let app, browser, clamd;
    let referralUrl, tracking;

    before(async () => {
      clamd = await startClamd();
      app = await startPasserelle({ backend, env: clamd ? { PASSERELLE_CLAMD: clamd.address } : {} });
      browser = await launchBrowser();
    });

    after(async () => {
      await browser?.close();
      await app?.stop();
      await clamd?.stop();
    });

    test('the agent files an urgent referral through the wizard', async () => {
      const ctx = await browser.newContext();
      const page = await ctx.newPage();
      await login(page, app.base, AGENT);
      await visit(page, app.base + '/info-parquet/signalements');
      assert.ok((await page.locator('table').innerText()).includes('Brouillon'), 'the demo draft is listed, resumable');
      await submit(page, 'button:has-text("Nouveau signalement")');
      assert.match(page.url(), /\/etapes\/faits$/);
      assert.match(await page.locator('.fr-stepper__state').innerText(), /Étape 1 sur 7/);

      // Step 1: a date in the future is refused with a French message next to the field, the input is kept.
      await page.fill('#description', 'Atelier clandestin : douze personnes logées sur place, issues de secours condamnées.');
      await page.fill('#start_date', isoDay(10));
      await submit(page, 'button:has-text("Enregistrer et continuer")');
      assert.equal(await page.locator('#start_date-erreur').innerText(), 'La date ne peut pas être dans le futur.');
      assert.match(await page.locator('#description').inputValue(), /Atelier clandestin/);
      await page.fill('#start_date', isoDay(-2));
      await submit(page, 'button:has-text("Enregistrer et continuer")');
      assert.match(page.url(), /\/etapes\/lieux$/);
      const draftUrl = page.url().replace(/\/etapes\/lieux$/, '');

      // Step 2: the commune is found by its name (server-side search, no script needed).
      await page.fill('#commune', 'Nanterre');
      await page.fill('#address', '8 allée des Tilleuls');
      await submit(page, 'button:has-text("Ajouter ce lieu")');
      assert.ok((await page.locator('table').innerText()).includes('92050'));
      await submit(page, 'button:has-text("Continuer")');

      // Step 3: a legal person; a bad SIREN is refused by its checksum.
      await page.click('label[for="kind-legal"]');
      await page.fill('#legal_name', 'SARL Atelier Exemple');
      await page.fill('#siren', '123456789');
      await submit(page, 'button:has-text("Ajouter cette personne")');
      assert.match(await page.locator('#siren-erreur').innerText(), /SIREN/);
      await page.fill('#siren', '900123456');
      // Its postal address: a street line and the commune from the communes list (no INSEE code to type).
      await page.fill('#person-address', '4 rue du Port');
      await page.fill('#residence_commune', 'Nanterre');
      await submit(page, 'button:has-text("Ajouter cette personne")');
      assert.ok((await page.locator('table').innerText()).includes('SARL Atelier Exemple'));
      assert.ok((await page.locator('table').innerText()).includes('4 rue du Port, Nanterre (92050)'));
      await submit(page, 'button:has-text("Continuer")');

      // The session may expire here: the draft is in the database. A new login resumes it from the list.
      await ctx.clearCookies();
      await login(page, app.base, AGENT);
      await visit(page, draftUrl + '/etapes/infractions');
      assert.equal(await page.locator('#natinf-q').count(), 1);

      // Step 4: NATINF search by words, accents ignored.
      await page.fill('#natinf-q', 'travail dissimule');
      await submit(page, 'form[role=search] button');
      await submit(page, 'button[title="Ajouter l\'infraction 7875"]');
      assert.ok((await page.locator('table').first().innerText()).includes('7875'));
      await submit(page, 'button:has-text("Continuer")');

      // Step 5: urgent needs a reason.
      await page.click('label[for="urgent-oui"]');
      await page.fill('#reference', 'UC92-E2E-1');
      await submit(page, 'button:has-text("Enregistrer et continuer")');
      assert.equal(await page.locator('#urgency_reason-erreur').innerText(), 'Indiquez pourquoi le signalement est urgent.');
      await page.fill('#urgency_reason', 'Danger immédiat pour les personnes logées.');
      await submit(page, 'button:has-text("Enregistrer et continuer")');

      // Step 6: attachments. A file carrying a virus (the EICAR test file) is refused and nothing is kept; a clean
      // PDF is scanned, encrypted and listed with its SHA-256.
      assert.match(page.url(), /\/etapes\/pieces-jointes$/);
      const stepUrl = page.url();
      await page.setInputFiles('#fichier', { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from(EICAR) });
      const refused = await Promise.all([page.waitForNavigation(), page.click('button:has-text("Téléverser")')]);
      assert.equal(refused[0].status(), 422);
      assert.match(await page.locator('main').innerText(), /un virus a été détecté/);
      await checkA11y(page);
      await page.goto(stepUrl);
      await page.setInputFiles('#fichier', { name: 'Procès-verbal.pdf', mimeType: 'application/pdf', buffer: PV });
      await submit(page, 'button:has-text("Téléverser")');
      assert.match(page.url(), /\/etapes\/pieces-jointes\?piece_jointe=ajoutee$/);
      assert.match(await page.locator('.fr-alert--success').innerText(), /analysée par l'antivirus, chiffrée/);
      const attachments = await page.locator('table:has(caption:has-text("Pièces jointes"))').innerText();
      assert.match(attachments, /Procès-verbal\.pdf/);
      assert.match(attachments, /Procès-verbal\.pdf[^\n]*\n+\s*Analysé : sain/i);
      // The refused file stays listed for the record (with its SHA-256), never downloadable.
      assert.match(attachments, /notes\.txt[^\n]*\n+\s*Refusé : virus détecté/i);
      assert.equal(await page.locator('a:has-text("notes.txt")').count(), 0);
      await submit(page, 'button:has-text("Continuer")');

      // Step 7: the Parquet de Nanterre is proposed; the art. 40 declaration is required.
      assert.match(await page.locator('main').innerText(), /Parquet proposé : Parquet de Nanterre/);
      await submit(page, 'button:has-text("Envoyer le signalement au parquet")');
      assert.match(await page.locator('.fr-alert--error').innerText(), /article 40/);
      await page.click('label[for="art40"]');
      await submit(page, 'button:has-text("Envoyer le signalement au parquet")');
      assert.match(page.url(), /\/confirmation$/);
      tracking = (await page.locator('#numero-suivi').innerText()).trim();
      assert.match(tracking, /^IP-\d{4}-\d{6}$/);
      referralUrl = page.url().replace(/\/confirmation$/, '');

      // The PDF acknowledgement: tracking number, TJ and parquet, facts summary, attachments section.
      const pdfHref = await page.locator('a[href$="accuse-reception.pdf"]').getAttribute('href');
      const pdf = await page.request.get(app.base + pdfHref);
      assert.equal(pdf.status(), 200);
      assert.equal(pdf.headers()['content-type'], 'application/pdf');
      const dir = mkdtempSync(path.join(os.tmpdir(), 'pa-pdf-'));
      const file = path.join(dir, 'ar.pdf');
      writeFileSync(file, await pdf.body());
      const text = execFileSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8' }).replace(/\s+/g, ' ');
      rmSync(dir, { recursive: true, force: true });
      assert.match(text, /Accusé de réception de signalement/);
      assert.ok(text.includes(tracking), 'tracking number in the PDF');
      assert.match(text, /Tribunal judiciaire de Nanterre/);
      assert.match(text, /Parquet de Nanterre/);
      assert.match(text, /Atelier clandestin/);
      assert.match(text, /NATINF 7875/);
      assert.match(text, /Pièces jointes/);
      assert.match(text, /Procès-verbal\.pdf/);
      assert.match(text, /[0-9a-f]{64}/, 'SHA-256 of the attachment');

      await visit(page, referralUrl);
      assert.equal((await page.locator('#etat').innerText()).trim().toLowerCase(), 'transmis au parquet');
      await ctx.close();
    });

    test('the parquet sees it on top, acknowledges, registers and dismisses it with a reason', async () => {
      const ctx = await browser.newContext();
      const page = await ctx.newPage();
      await login(page, app.base, PARQUET);
      await visit(page, app.base + '/info-parquet/parquet');
      const rows = page.locator('tbody tr');
      const texts = await rows.allInnerTexts();
      const ours = texts.findIndex((t) => t.includes(tracking));
      assert.ok(ours >= 0, 'our referral is in the inbox');
      for (let i = 0; i <= ours; i++) {
        assert.match(texts[i], /réception à confirmer/i, `row ${i} is an urgent awaiting acknowledgement`);
      }
      assert.ok(texts.slice(ours + 1).every((t) => !/réception à confirmer/i.test(t)), 'urgent ones come first');
      await Promise.all([page.waitForNavigation(), page.click(`a:has-text("${tracking}")`)]);
      await checkA11y(page);

      // The attachment, decrypted on the way out, is the very file the agent sent.
      const href = await page.locator('a:has-text("Procès-verbal.pdf")').getAttribute('href');
      const download = await page.request.get(app.base + href);
      assert.equal(download.status(), 200);
      assert.match(download.headers()['content-disposition'], /^attachment/);
      assert.ok(Buffer.compare(await download.body(), PV) === 0, 'downloaded bytes are the uploaded ones');

      await submit(page, 'button:has-text("Confirmer la réception")');
      assert.match(await page.locator('#accuse-urgence').innerText(), /Réception confirmée par le parquet le .* après l'envoi/);

      await page.fill('#case_number', 'PARQ-E2E-0001');
      await submit(page, 'button:has-text("Enregistrer le signalement")');
      assert.equal((await page.locator('#numero-parquet').innerText()).trim(), 'PARQ-E2E-0001');

      // A classement without its reason is refused, then given.
      await page.click('label[for="kind-classement"]');
      await submit(page, 'button:has-text("Rendre la décision")');
      assert.match(await page.locator('#classement_reason-erreur').innerText(), /motif/);
      await page.selectOption('#classement_reason', 'infraction_insuffisamment_caracterisee');
      await page.fill('#decision_text', 'Les éléments transmis ne suffisent pas à caractériser l\'infraction.');
      await submit(page, 'button:has-text("Rendre la décision")');
      assert.match(await page.locator('#decision').innerText(), /Classement sans suite/);
      await ctx.close();
    });

    test('the agent sees the decision, its reason and the art. 40-3 appeal right', async () => {
      const ctx = await browser.newContext();
      const page = await ctx.newPage();
      await login(page, app.base, AGENT);
      await visit(page, referralUrl);
      const decision = await page.locator('#decision').innerText();
      assert.match(decision, /Classement sans suite/);
      assert.match(decision, /Infraction insuffisamment caractérisée/);
      assert.match(await page.locator('#recours-40-3').innerText(), /article 40-3 du code de procédure pénale.*procureur général/s);
      assert.match(await page.locator('#suivi').innerText(), /Enregistré/i);
      await page.fill('#body', 'Bien reçu, merci.');
      await submit(page, 'button:has-text("Envoyer le message")');
      assert.match(await page.locator('.pa-thread').last().innerText(), /Bien reçu, merci\./);
      await ctx.close();
    });

    test('an agent of another administration gets the DSFR 404 on the referral', async () => {
      const ctx = await browser.newContext();
      const page = await ctx.newPage();
      await login(page, app.base, OTHER_ADMINISTRATION);
      const res = await visit(page, referralUrl);
      assert.equal(res.status(), 404);
      assert.match(await page.locator('h1').innerText(), /Page non trouvée/);
      await ctx.close();
    });

    test('a manager creates an API token shown once, the API accepts it, then refuses it once revoked', async () => {
      const ctx = await browser.newContext();
      const page = await ctx.newPage();
      await login(page, app.base, MANAGER);
      await visit(page, app.base + '/info-parquet/jetons');
      await page.selectOption('#service_id', { label: 'Unité de contrôle de Nanterre' });
      await page.fill('#name', 'Logiciel de test');
      await submit(page, 'button:has-text("Créer le jeton")');
      const raw = (await page.locator('#jeton-brut').innerText()).trim();
      assert.match(raw, /^psl_ip_/);
      const headers = { Authorization: `Bearer ${raw}` };
      const ok = await fetch(app.base + '/api/v1/referrals', { headers });
      assert.equal(ok.status, 200);
      const body = await ok.json();
      assert.ok(body.items.some((r) => r.tracking_number === tracking), 'the service sees its referral');
      await visit(page, app.base + '/info-parquet/jetons');
      assert.equal(await page.locator('#jeton-brut').count(), 0, 'never shown again');
      await submit(page, 'button[title="Révoquer le jeton Logiciel de test"]');
      const refused = await fetch(app.base + '/api/v1/referrals', { headers });
      assert.equal(refused.status, 401);
      assert.equal(refused.headers.get('content-type'), 'application/problem+json');
      await ctx.close();
    });

    test('the national admin opens the statistics and onboards an administration with its first manager', async () => {
      const ctx = await browser.newContext();
      const page = await ctx.newPage();
      await login(page, app.base, 'admin@demo.passerelle.fr');
      await visit(page, app.base + '/info-parquet/statistiques');
      assert.match(await page.locator('h1').innerText(), /Statistiques Info Parquet/);
      assert.ok(await page.locator('bar-chart').count() >= 1, 'a DSFR chart');
      assert.match(await page.locator('#par-administration-table-caption').textContent(), /Par administration/);
      assert.match(await page.locator('table:has(#par-administration-table-caption)').innerText(), /DDETS des Hauts-de-Seine/);
      const csv = await page.request.get(app.base + '/info-parquet/statistiques.csv');
      assert.equal(csv.status(), 200);
      const text = await csv.text();
      assert.ok(text.startsWith('\ufeffDimension;Libellé;Signalements envoyés;'), 'BOM and ; for Excel');
      assert.match(text, /\r\nAdministration;DDETS des Hauts-de-Seine/);

      await visit(page, app.base + '/info-parquet/administrations');
      assert.match(await page.locator('table').first().innerText(), /DDETS des Hauts-de-Seine/);
      await page.fill('#name', 'Mairie de Puteaux');
      await page.fill('#departement', '92');
      await page.fill('#services', 'Police municipale de Puteaux\nService de l\'urbanisme de Puteaux');
      await page.fill('#first_name', 'Inès');
      await page.fill('#last_name', 'Martin');
      await page.fill('#email', 'pas-une-adresse');
      await submit(page, 'button:has-text("Créer l\'administration")');
      assert.ok(await page.locator('#email-erreur').isVisible(), 'the e-mail is refused at its field');
      assert.equal(await page.inputValue('#name'), 'Mairie de Puteaux', 'input kept');
      await page.fill('#email', 'ines.martin@puteaux.test');
      await submit(page, 'button:has-text("Créer l\'administration")');
      assert.match(await page.locator('.fr-alert--success').innerText(), /Invitation envoyée à ines\.martin@puteaux\.test/);
      const row = await page.locator('tr:has-text("Mairie de Puteaux")').innerText();
      assert.match(row, /Police municipale de Puteaux/);
      assert.match(row, /invitation en attente/);
      // The national admin edits and deactivates a service; the list shows it.
      await submit(page, 'a:has-text("Police municipale de Puteaux")');
      assert.match(await page.locator('h1').innerText(), /Police municipale de Puteaux/);
      await page.fill('#siren', '213 800 626');
      await submit(page, 'button:has-text("Enregistrer les modifications")');
      assert.match(await page.locator('.fr-alert--success').innerText(), /Modifications enregistrées/);
      await submit(page, 'button:has-text("Désactiver")');
      assert.match(await page.locator('.fr-alert--success').innerText(), /désactivé/);
      await visit(page, app.base + '/info-parquet/administrations');
      assert.match(await page.locator('tr:has-text("Mairie de Puteaux")').innerText(), /Police municipale de Puteaux — désactivé/);
      await visit(page, app.base + '/demo/messages');
      assert.match(await page.locator('main').innerText(), /ines\.martin@puteaux\.test/);
      await ctx.close();
    });
  });
}

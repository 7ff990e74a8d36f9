// Messages end to end, on each database: an agent books in the browser; the summon leaves through the
// real Brevo adapter to a loopback server speaking Brevo's transactional SMS API, and by e-mail to a real SMTP
// server with an .ics invitation; Brevo's delivery webhook turns "sent" into "received"; the STOP link in the SMS
// stops SMS and the agent sees it. Quiet hours are turned off for this process (PASSERELLE_QUIET_HOURS=aucune) so
// that the test does not depend on the hour it runs at; the quiet-hours rules are unit-tested in `domain`.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';

import { backends, checkA11y, freePort, futureWorkingDay, launchBrowser, login, startPasserelle, startSmtp, visit } from './harness.mjs';

/** A loopback server answering like Brevo's `POST /v3/transactionalSMS/sms`, recording what it receives. */
async function startBrevo() {
  const received = [];
  const waiters = [];
  let next = 1000;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v3/transactionalSMS/sms') {
        res.writeHead(404).end();
        return;
      }
      if (req.headers['api-key'] !== 'cle-brevo-e2e') {
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"code":"unauthorized"}');
        return;
      }
      const sms = { ...JSON.parse(body), messageId: next++ };
      received.push(sms);
      for (const w of [...waiters]) if (w.pred(sms)) (waiters.splice(waiters.indexOf(w), 1), w.resolve(sms));
      res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ messageId: sms.messageId }));
    });
  });
  const port = await freePort();
  await new Promise((r) => server.listen(port, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    waitFor(pred, ms = 20000) {
      const found = received.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const w = { pred, resolve };
        waiters.push(w);
        setTimeout(() => waiters.includes(w) && reject(new Error('no such SMS received by the Brevo server')), ms);
      });
    },
    close: () => new Promise((r) => server.close(r)),
  };
}

for (const backend of backends()) {
  describe(`messages (${backend})`, () => {
    let smtp, brevo, app, browser, page, personUrl, sms;

    before(async () => {
      smtp = await startSmtp();
      brevo = await startBrevo();
      app = await startPasserelle({
        backend,
        smtpPort: smtp.port,
        env: {
          PASSERELLE_SMS_PROVIDER: 'brevo',
          PASSERELLE_BREVO_URL: brevo.url,
          PASSERELLE_BREVO_API_KEY: 'cle-brevo-e2e',
          PASSERELLE_SMS_WEBHOOK_SECRET: 'secret-webhook-e2e',
          PASSERELLE_QUIET_HOURS: 'aucune',
        },
      });
      browser = await launchBrowser();
      page = await (await browser.newContext()).newPage();
      await login(page, app.base, 'cpip@demo.passerelle.fr');
    });

    after(async () => {
      await browser?.close();
      await app?.stop();
      await brevo?.close();
      await smtp?.close();
    });

    test('a booking sends the summon by SMS through Brevo and by e-mail with an .ics invitation', async () => {
      await visit(page, app.base + '/msj/personnes?q=dupont');
      personUrl = app.base + (await page.locator('table a', { hasText: 'DUPONT Jean' }).getAttribute('href'));
      // Give Jean Dupont an e-mail address, then book a follow-up.
      await visit(page, personUrl + '/modifier');
      await page.fill('#email', 'jean.dupont@example.fr');
      await Promise.all([page.waitForNavigation(), page.click('#form-ppsmj button[type=submit]')]);
      await visit(page, personUrl);
      await Promise.all([page.waitForNavigation(), page.click('a:has-text("Convocation de suivi SPIP")')]);
      await page.fill('#date', futureWorkingDay(12));
      await page.fill('#time', '15:30');
      await Promise.all([page.waitForNavigation(), page.click('button:has-text("Confirmer le rendez-vous")')]);
      await checkA11y(page);

      sms = await brevo.waitFor((s) => s.recipient === '33611223344' && /15h30/.test(s.content));
      assert.equal(sms.type, 'transactional');
      assert.match(sms.content, /^Convocation le .+ à 15h30/);
      // GSM-7 only (no ê, ’, —): the summons costs GSM-7 parts, not UCS-2 ones
      assert.doesNotMatch(sms.content, /[êâîôûç’«»—]/);
      assert.match(sms.content, /STOP SMS : http:\/\/127\.0\.0\.1:\d+\/stop\/\S+/);

      const mail = await smtp.waitFor((m) => m.to?.text === 'jean.dupont@example.fr');
      assert.match(mail.text, /15h30/);
      const ics = mail.attachments.find((a) => a.contentType.startsWith('text/calendar'));
      assert.ok(ics, 'an .ics attachment');
      const cal = ics.content.toString('utf8');
      assert.match(cal, /^BEGIN:VCALENDAR\r\n/);
      assert.match(cal, /METHOD:REQUEST/);
      assert.match(cal, /BEGIN:VEVENT[\s\S]*DTSTART[:;][\s\S]*END:VEVENT/);
      assert.match(cal, /SUMMARY:Convocation de suivi SPIP/);
    });

    test("Brevo's delivery webhook marks the SMS received, a forged one is refused", async () => {
      const hook = (auth) =>
        fetch(app.base + '/webhooks/sms/brevo', {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: auth },
          body: JSON.stringify({ messageId: sms.messageId, msg_status: 'delivered' }),
        });
      assert.equal((await hook('Bearer pas-le-secret')).status, 401);
      // The provider may call back before the dispatcher has committed its batch: Passerelle answers 404 (unknown
      // yet) and, like Brevo, the test calls again until it is accepted.
      let status = 0;
      for (let i = 0; i < 40 && status !== 200; i++) {
        status = (await hook('Bearer secret-webhook-e2e')).status;
        if (status !== 200) await new Promise((r) => setTimeout(r, 250));
      }
      assert.equal(status, 200);
      await visit(page, personUrl);
      const rows = await page.locator('#messages tbody tr').allInnerTexts();
      assert.ok(rows.some((r) => /SMS/.test(r) && /Reçu/.test(r) && /15h30/.test(r)), rows.join('\n'));
    });

    test('the STOP link stops SMS and the agent is told at the next booking', async () => {
      const link = sms.content.match(/http:\/\/\S+\/stop\/\S+/)[0];
      const anon = await (await browser.newContext()).newPage();
      await visit(anon, link);
      await Promise.all([anon.waitForNavigation(), anon.click('button:has-text("Je ne veux plus recevoir de SMS")')]);
      assert.match(await anon.locator('.fr-alert--success').innerText(), /ne recevrez plus de SMS/);
      await checkA11y(anon);

      await visit(page, personUrl);
      await Promise.all([page.waitForNavigation(), page.click('a:has-text("Convocation de suivi SPIP")')]);
      assert.match(await page.locator('main').innerText(), /Aucun SMS ne sera envoyé : la personne a demandé à ne plus recevoir de SMS/);
    });
  });
}

// Service worker of the person's space (served at /mon-espace/sw.js, scope /mon-espace/): shows the reminders that
// arrive by Web Push. The payload is JSON {"title", "body"}, decrypted by the browser.
self.addEventListener("push", function (event) {
  var data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch (e) {
    data = { body: event.data ? event.data.text() : "" };
  }
  event.waitUntil(
    self.registration.showNotification(data.title || "Mon Suivi Justice", {
      body: data.body || "",
      icon: "/static/dsfr/favicon/apple-touch-icon.png",
      lang: "fr"
    })
  );
});

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  event.waitUntil(self.clients.openWindow("/mon-espace/rendez-vous"));
});

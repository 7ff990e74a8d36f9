// Push notifications from /mon-espace/coordonnees. Progressive enhancement: the section stays
// hidden without service workers or the Push API. Static file (the CSP allows no inline script).
(function () {
  "use strict";
  var section = document.getElementById("notifications");
  if (!section || !("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) {
    return;
  }
  var on = document.getElementById("notifications-activer");
  var off = document.getElementById("notifications-arreter");
  var status = document.getElementById("notifications-etat");

  function keyBytes(base64url) {
    var b64 = base64url.replace(/-/g, "+").replace(/_/g, "/");
    b64 += "===".slice((b64.length + 3) % 4);
    var raw = atob(b64);
    var out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out;
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": section.dataset.csrf },
      body: JSON.stringify(body)
    }).then(function (r) {
      if (!r.ok) throw new Error("HTTP " + r.status);
    });
  }

  function show(subscribed) {
    on.hidden = subscribed;
    off.hidden = !subscribed;
  }

  var ready = navigator.serviceWorker.register("/mon-espace/sw.js", { scope: "/mon-espace/" })
    .then(function () { return navigator.serviceWorker.ready; });

  ready.then(function (reg) { return reg.pushManager.getSubscription(); })
    .then(function (sub) {
      section.hidden = false;
      show(!!sub);
    })
    .catch(function () { /* no service worker here: the section stays hidden */ });

  on.addEventListener("click", function () {
    status.textContent = "";
    Notification.requestPermission().then(function (permission) {
      if (permission !== "granted") {
        status.textContent = section.dataset.refused;
        return null;
      }
      return ready.then(function (reg) {
        return reg.pushManager.subscribe({
          userVisibleOnly: true,
          applicationServerKey: keyBytes(section.dataset.key)
        });
      }).then(function (sub) {
        return post("/mon-espace/notifications", sub.toJSON());
      }).then(function () {
        show(true);
        status.textContent = section.dataset.done;
        off.focus();
      });
    }).catch(function () { status.textContent = section.dataset.failed; });
  });

  off.addEventListener("click", function () {
    status.textContent = "";
    ready.then(function (reg) { return reg.pushManager.getSubscription(); })
      .then(function (sub) {
        if (!sub) return null;
        var endpoint = sub.endpoint;
        return sub.unsubscribe().then(function () {
          return post("/mon-espace/notifications/arret", { endpoint: endpoint });
        });
      })
      .then(function () {
        show(false);
        status.textContent = section.dataset.stopped;
        on.focus();
      })
      .catch(function () { status.textContent = section.dataset.failed; });
  });
})();

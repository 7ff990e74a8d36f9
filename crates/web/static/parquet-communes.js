// Fills the commune <datalist> of the referral wizard from /info-parquet/communes?q= (progressive enhancement:
// without JavaScript the server searches the typed text when the form is sent).
(function () {
  document.querySelectorAll('input[data-pa-communes]').forEach(function (input) {
    var list = document.getElementById(input.getAttribute('list'));
    if (!list) return;
    var timer = null;
    input.addEventListener('input', function () {
      clearTimeout(timer);
      var q = input.value.trim();
      if (q.length < 2) return;
      timer = setTimeout(function () {
        fetch(input.getAttribute('data-pa-communes') + '?q=' + encodeURIComponent(q), { credentials: 'same-origin' })
          .then(function (r) { return r.ok ? r.json() : []; })
          .then(function (rows) {
            list.textContent = '';
            rows.forEach(function (c) {
              var o = document.createElement('option');
              o.value = c.insee;
              o.label = c.libelle;
              o.textContent = c.libelle;
              list.appendChild(o);
            });
          })
          .catch(function () {});
      }, 200);
    });
  });
})();

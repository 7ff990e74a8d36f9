// Message template editor: live preview while typing (POST /msj/modeles/apercu, CSRF in the x-csrf-token header)
// and click-to-insert variables. Progressive enhancement: without JavaScript the "Prévisualiser" button asks the
// server for the same preview.
(function () {
  var form = document.getElementById('modele');
  var body = document.getElementById('body');
  if (!form || !body) return;
  var $ = function (id) { return document.getElementById(id); };
  var timer = null;
  var seq = 0;

  function show(r) {
    var error = $('apercu-erreur');
    if (r.error) {
      error.textContent = 'Le texte ne peut pas être prévisualisé : ' + r.error;
      error.classList.remove('pa-hidden');
      $('apercu-texte').textContent = '';
      ['apercu-unites', 'apercu-encodage', 'apercu-segments', 'apercu-stop', 'apercu-explication'].forEach(function (id) {
        $(id).textContent = '';
      });
      $('apercu-speciaux').classList.add('pa-hidden');
      return;
    }
    error.textContent = '';
    error.classList.add('pa-hidden');
    $('apercu-texte').textContent = r.rendered;
    $('apercu-unites').textContent = String(r.units);
    $('apercu-encodage').textContent = r.encoding;
    $('apercu-segments').textContent = String(r.segments);
    $('apercu-stop').textContent = r.units_with_stop + ' caractères, ' + r.segments_with_stop + ' SMS';
    $('apercu-explication').textContent = r.explanation;
    $('apercu-speciaux-liste').textContent = r.special;
    $('apercu-speciaux').classList.toggle('pa-hidden', !r.special);
  }

  function refresh() {
    var mine = ++seq;
    var payload = { body: body.value };
    var org = form.getAttribute('data-organisation');
    if (org) payload.organisation = org;
    fetch(form.getAttribute('data-apercu'), {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json', 'x-csrf-token': form.getAttribute('data-csrf') },
      body: JSON.stringify(payload),
    })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (r) { if (r && mine === seq) show(r); })
      .catch(function () {});
  }

  body.addEventListener('input', function () {
    clearTimeout(timer);
    timer = setTimeout(refresh, 250);
  });

  document.querySelectorAll('button.pa-insert').forEach(function (button) {
    button.addEventListener('click', function () {
      var v = button.getAttribute('data-variable');
      var start = body.selectionStart, end = body.selectionEnd;
      body.value = body.value.slice(0, start) + v + body.value.slice(end);
      body.focus();
      body.selectionStart = body.selectionEnd = start + v.length;
      refresh();
    });
  });
})();

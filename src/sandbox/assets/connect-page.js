(function () {
  'use strict';
  var root = document.getElementById('__P__-dialog');
  var connect = document.getElementById('__P__-connect');
  var dismiss = document.getElementById('__P__-' + root.dataset.dismiss);
  var status = document.getElementById('__P__-status');
  var embedded = window.parent !== window;
  if (embedded) document.documentElement.classList.add('embedded');
  function post(message) {
    [embedded ? window.parent : null, window.opener].forEach(function (target) {
      if (target) { try { target.postMessage(message, '*'); } catch (e) { /* gone */ } }
    });
  }
  function say(text, isError) {
    status.textContent = text;
    status.classList.toggle('error', !!isError);
  }
  function busy(on) {
    if (connect) connect.disabled = on;
    dismiss.disabled = on;
  }
  if (connect) connect.addEventListener('click', function () {
    var token = root.dataset.token;
    busy(true);
    say('Connecting\u2026');
    fetch(root.dataset.complete, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(__BODY__),
      credentials: 'omit'
    }).then(function (response) {
      if (!response.ok) throw new Error('the sandbox answered ' + response.status);
      return response.json();
    }).then(function (body) {
      say('Connected. You can close this window.');
      [__SUCCESS__].forEach(post);
    }).catch(function (error) {
      say('Could not connect: ' + error.message + '. Please try again.', true);
      busy(false);
    });
  });
  dismiss.addEventListener('click', function () {
    say('Closed. You can close this window.');
    post(__CLOSE__);
  });
  document.addEventListener('keydown', function (event) {
    if (event.key === 'Escape' && !dismiss.disabled) dismiss.click();
  });
  if (connect) connect.focus(); else dismiss.focus();
})();

/* Bindbee Embed (bink-proxy sandbox mimic) */
(function () {
  'use strict';
  var script = document.currentScript;
  var base = script && script.src ? new URL('.', script.src).href : __PUBLIC_BASE__ + '/';
  var origin = new URL(base).origin;
  var current = null;

  function open(options) {
    options = options || {};
    if (!options.linkToken) throw new Error('BindbeeEmbed.open: linkToken is required');
    if (current) current.close();
    var overlay = document.createElement('div');
    overlay.setAttribute('data-bindbee-embed', '');
    Object.assign(overlay.style, {
      position: 'fixed', top: '0', right: '0', bottom: '0', left: '0',
      zIndex: '2147483647', background: 'transparent'
    });
    var frame = document.createElement('iframe');
    frame.title = 'Connect with Bindbee';
    frame.src = base + 'connect?link_token=' + encodeURIComponent(options.linkToken);
    frame.setAttribute('allowtransparency', 'true');
    Object.assign(frame.style, {
      position: 'absolute', top: '0', left: '0', width: '100%', height: '100%',
      border: '0', background: 'transparent'
    });
    overlay.appendChild(frame);
    document.body.appendChild(overlay);
    frame.addEventListener('load', function () { frame.focus(); });

    function teardown() {
      window.removeEventListener('message', onMessage);
      overlay.remove();
      if (current === handle) current = null;
    }
    function onMessage(event) {
      if (event.origin !== origin || event.source !== frame.contentWindow) return;
      var data = event.data || {};
      if (data.type === 'bindbee:success' && typeof data.temporary_token === 'string') {
        teardown();
        if (typeof options.onSuccess === 'function') options.onSuccess(data.temporary_token);
      } else if (data.type === 'bindbee:close') {
        teardown();
        if (typeof options.onClose === 'function') options.onClose();
      }
    }
    var handle = { close: teardown };
    current = handle;
    window.addEventListener('message', onMessage);
    return handle;
  }

  window.BindbeeEmbed = { open: open };
})();

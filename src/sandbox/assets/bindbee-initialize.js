/* Bindbee Embed (bink-proxy sandbox stand-in for https://cdn.bindbee.dev/initialize.min.js)
 * Same API as Bindbee's script:
 *   BindbeeEmbed.initialize({linkToken, serverUrl, onSuccess(temporary_token), onClose})
 *   BindbeeEmbed.open()      opens the widget (an iframe) for the initialized link
 *   BindbeeEmbed.destroy()   removes it and forgets the link
 * The iframe posts JSON *strings* — {"type":"SUCCESS","temporary_token","instanceId"},
 * then {"type":"CLOSE","instanceId"} — and only messages from its origin and window, for
 * this instance, are heard. */
(function () {
  'use strict';
  var script = document.currentScript;
  var base = script && script.src ? new URL('.', script.src).href : __PUBLIC_BASE__ + '/';
  var origin = new URL(base).origin;
  var DEFAULT_SERVER = 'https://api.bindbee.dev';
  var config = null;
  var widget = null;

  // "xxxx-xxxx-xxxx-xxxx" in hex, as Bindbee's React SDK makes them.
  function newInstanceId() {
    var bytes = new Uint8Array(8);
    crypto.getRandomValues(bytes);
    var hex = Array.prototype.map.call(bytes, function (b) { return ('0' + b.toString(16)).slice(-2); }).join('');
    return hex.match(/.{4}/g).join('-');
  }

  function initialize(options) {
    options = options || {};
    if (typeof options.linkToken !== 'string' || !options.linkToken) {
      throw new Error('BindbeeEmbed.initialize: linkToken is required');
    }
    destroy();
    config = {
      linkToken: options.linkToken,
      serverUrl: options.serverUrl || DEFAULT_SERVER,
      onSuccess: options.onSuccess,
      onClose: options.onClose,
      instanceId: newInstanceId()
    };
  }

  function open() {
    if (!config) throw new Error('BindbeeEmbed.open: call BindbeeEmbed.initialize first');
    if (widget) return;
    var c = config;
    var overlay = document.createElement('div');
    overlay.setAttribute('data-bindbee-embed', '');
    Object.assign(overlay.style, {
      position: 'fixed', top: '0', right: '0', bottom: '0', left: '0',
      zIndex: '8460', background: 'transparent'
    });
    var frame = document.createElement('iframe');
    frame.id = 'magic-link-flow';
    frame.allow = 'clipboard-write';
    frame.title = 'Connect with Bindbee';
    frame.src = base + 'embed?link_token=' + encodeURIComponent(c.linkToken) +
      '&server_url=' + encodeURIComponent(c.serverUrl) +
      '&instanceId=' + encodeURIComponent(c.instanceId);
    frame.setAttribute('allowtransparency', 'true');
    Object.assign(frame.style, {
      position: 'absolute', top: '0', left: '0', width: '100%', height: '100%',
      border: '0', background: 'transparent'
    });
    overlay.appendChild(frame);
    document.body.appendChild(overlay);
    frame.addEventListener('load', function () { frame.focus(); });

    function onMessage(event) {
      if (event.origin !== origin || event.source !== frame.contentWindow) return;
      if (typeof event.data !== 'string') return;
      var data;
      try { data = JSON.parse(event.data); } catch (e) { return; }
      if (!data || (data.instanceId && data.instanceId !== c.instanceId)) return;
      if (data.type === 'SUCCESS' && typeof data.temporary_token === 'string') {
        if (typeof c.onSuccess === 'function') c.onSuccess(data.temporary_token);
      } else if (data.type === 'CLOSE') {
        close();
        if (typeof c.onClose === 'function') c.onClose();
      }
    }
    function close() {
      window.removeEventListener('message', onMessage);
      overlay.remove();
      if (widget && widget.overlay === overlay) widget = null;
    }
    widget = { overlay: overlay, close: close };
    window.addEventListener('message', onMessage);
  }

  function destroy() {
    if (widget) widget.close();
    config = null;
  }

  window.BindbeeEmbed = { initialize: initialize, open: open, destroy: destroy };
})();

/* @kombo-api/connect (bink-proxy sandbox mimic of the UMD build) */
(function (global) {
  'use strict';
  var isOpen = false;
  class KomboConnectAlreadyOpenError extends Error {
    constructor(message) { super(message); this.name = 'KomboConnectAlreadyOpenError'; }
  }
  class KomboConnectCancelledError extends Error {
    constructor(message) { super(message); this.name = 'KomboConnectCancelledError'; }
  }

  function createIframe(url) {
    var frame = document.createElement('iframe');
    frame.setAttribute('src', url);
    frame.setAttribute('title', 'Kombo Connect');
    frame.setAttribute('allowtransparency', 'true');
    frame.setAttribute('allow', 'clipboard-read; clipboard-write');
    frame.setAttribute('sandbox', 'allow-scripts allow-same-origin allow-forms allow-popups');
    Object.assign(frame.style, {
      zIndex: String(Number.MAX_SAFE_INTEGER), position: 'fixed', width: '100%',
      height: '100%', top: '0', bottom: '0', left: '0', right: '0', border: '0'
    });
    return frame;
  }

  function showKomboConnect(url, options) {
    options = options || {};
    return new Promise(function (resolve, reject) {
      if (isOpen) {
        return reject(new KomboConnectAlreadyOpenError("There's already a Kombo Connect modal open!"));
      }
      var container = options.container || document.body;
      if (options.container && !options.container.isConnected) {
        return reject(new Error('The container element passed to showKomboConnect must be attached to the document.'));
      }
      isOpen = true;
      var target = new URL(url, window.location.href);
      target.searchParams.set('sdkv', 'sandbox');
      var frame = createIframe(target.toString());
      container.append(frame);
      function closeFrame() {
        window.removeEventListener('message', onMessage);
        frame.remove();
        isOpen = false;
      }
      var handlers = {
        close: function () {
          closeFrame();
          reject(new KomboConnectCancelledError('The user cancelled the flow!'));
        },
        success: function (data) {
          closeFrame();
          resolve(data.activation_token);
        }
      };
      function onMessage(event) {
        if (event.source !== frame.contentWindow) return;
        var message = event.data || {};
        var handler = Object.prototype.hasOwnProperty.call(handlers, message.type) && handlers[message.type];
        if (handler) handler(message.data || {});
      }
      window.addEventListener('message', onMessage);
    });
  }

  global.KomboConnect = {
    showKomboConnect: showKomboConnect,
    KomboConnectAlreadyOpenError: KomboConnectAlreadyOpenError,
    KomboConnectCancelledError: KomboConnectCancelledError
  };
})(typeof globalThis !== 'undefined' ? globalThis : self);

/* bink-proxy /integrations/connect.js
 * BinkIntegrations.connect({provider, category, integration, tool, language})
 *   → init at the proxy → the vendor's front-end flow → connect/activate at the proxy
 *   → resolves with the stored Integration (never a credential).
 * BinkIntegrations.list() / BinkIntegrations.disconnect(id) for the rest.
 * Requests go to this origin with the session cookie; the proxy checks Origin and JSON. */
(function () {
  "use strict";
  var SDK = /*SDK_URLS*/ {};
  var loading = {};

  function loadScript(src) {
    if (!src) return Promise.reject(new Error("no front-end script configured for this provider"));
    if (!loading[src]) {
      loading[src] = new Promise(function (resolve, reject) {
        var s = document.createElement("script");
        s.src = src;
        s.async = true;
        s.onload = function () { resolve(); };
        s.onerror = function () { delete loading[src]; reject(new Error("could not load " + src)); };
        document.head.appendChild(s);
      });
    }
    return loading[src];
  }

  function call(method, path, body) {
    var init = { method: method, credentials: "same-origin", headers: { "Accept": "application/json" } };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch("/integrations" + path, init).then(function (r) {
      if (r.status === 204) return null;
      return r.json().catch(function () { return {}; }).then(function (json) {
        if (!r.ok) {
          var err = new Error(json.message || ("request failed with HTTP " + r.status));
          err.code = json.error;
          err.status = r.status;
          throw err;
        }
        return json;
      });
    });
  }

  function cancelled(message) {
    var err = new Error(message || "the connection flow was closed");
    err.code = "cancelled";
    return err;
  }

  function connectKombo(o) {
    return call("POST", "/kombo/init", { category: o.category, tool: o.tool, language: o.language })
      .then(function (r) {
        return loadScript(SDK.kombo).then(function () {
          if (!window.KomboConnect || !window.KomboConnect.showKomboConnect) throw new Error("Kombo Connect did not load");
          return window.KomboConnect.showKomboConnect(r.link);
        });
      })
      .catch(function (e) { throw e && e.name === "KomboConnectCancelledError" ? cancelled() : e; })
      .then(function (activationToken) {
        return call("POST", "/kombo/activate", { token: activationToken, category: o.category });
      });
  }

  function connectBindbee(o) {
    return call("POST", "/bindbee/link-token", { category: o.category, integration: o.integration })
      .then(function (r) {
        return loadScript(SDK.bindbee).then(function () {
          if (!window.BindbeeEmbed || !window.BindbeeEmbed.open) throw new Error("Bindbee Embed did not load");
          return new Promise(function (resolve, reject) {
            window.BindbeeEmbed.open({
              linkToken: r.link_token,
              onSuccess: function (temporaryToken) { resolve(temporaryToken); },
              onClose: function () { reject(cancelled()); }
            });
          });
        });
      })
      .then(function (temporaryToken) {
        return call("POST", "/bindbee/connect", {
          temporary_token: temporaryToken, category: o.category, integration: o.integration
        });
      });
  }

  window.BinkIntegrations = {
    connect: function (options) {
      var o = options || {};
      if (o.provider === "kombo") return connectKombo(o);
      if (o.provider === "bindbee") return connectBindbee(o);
      return Promise.reject(new Error("provider must be \"bindbee\" or \"kombo\""));
    },
    list: function () { return call("GET", "").then(function (r) { return r.integrations; }); },
    disconnect: function (id) { return call("DELETE", "/" + encodeURIComponent(id)); }
  };
})();

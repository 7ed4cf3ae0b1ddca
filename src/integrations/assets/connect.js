/* bink-proxy /integrations/connect.js
 * BinkIntegrations.connect({provider, category, integration, tool, language})
 *   → init at the proxy → the vendor's front-end flow → connect/activate at the proxy
 *   → resolves with the stored Integration (never a credential).
 * BinkIntegrations.reconnect(id, {language}) reconnects an existing integration in place
 *   (Kombo's relink: the same integration, no duplicate at the vendor).
 * BinkIntegrations.list() / BinkIntegrations.disconnect(id) for the rest.
 * Requests go to this origin with the session cookie; the proxy checks Origin and JSON. */
(function () {
  "use strict";
  // Per configured provider: {script, integrity, server_url}; null when not configured.
  var FRONT_ENDS = /*FRONT_ENDS*/ {};
  var loading = {};

  function loadScript(provider) {
    var front = FRONT_ENDS[provider];
    if (!front || !front.script) return Promise.reject(new Error("provider \"" + provider + "\" is not configured"));
    var src = front.script;
    if (!loading[src]) {
      loading[src] = new Promise(function (resolve, reject) {
        var s = document.createElement("script");
        s.src = src;
        s.async = true;
        if (front.integrity) {
          // The browser refuses a script that does not match the operator's pinned hash.
          s.integrity = front.integrity;
          s.crossOrigin = "anonymous";
        }
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

  /* Kombo: @kombo-api/connect's showKomboConnect(link) resolves with the activation token. */
  function runKombo(link) {
    return loadScript("kombo")
      .then(function () {
        if (!window.KomboConnect || !window.KomboConnect.showKomboConnect) throw new Error("Kombo Connect did not load");
        return window.KomboConnect.showKomboConnect(link);
      })
      .catch(function (e) { throw e && e.name === "KomboConnectCancelledError" ? cancelled() : e; });
  }

  function connectKombo(o) {
    return call("POST", "/kombo/init", { category: o.category, tool: o.tool, language: o.language })
      .then(function (r) { return runKombo(r.link); })
      .then(function (activationToken) {
        return call("POST", "/kombo/activate", { token: activationToken, category: o.category });
      });
  }

  /* Bindbee Embed: initialize({linkToken, serverUrl, onSuccess, onClose}), open(), and
   * destroy() once the flow has ended. serverUrl is the region of the proxy's Bindbee API:
   * a link token from the EU API only works in the EU widget. */
  function runBindbee(linkToken) {
    return loadScript("bindbee").then(function () {
      var embed = window.BindbeeEmbed;
      if (!embed || typeof embed.initialize !== "function" || typeof embed.open !== "function") {
        throw new Error("Bindbee Embed did not load");
      }
      return new Promise(function (resolve, reject) {
        var settled = false;
        function end(settle, value) {
          if (settled) return;
          settled = true;
          // After the callback returns: the script is still inside its message handler.
          setTimeout(function () { if (typeof embed.destroy === "function") embed.destroy(); }, 0);
          settle(value);
        }
        embed.initialize({
          linkToken: linkToken,
          serverUrl: FRONT_ENDS.bindbee.server_url,
          onSuccess: function (temporaryToken) { end(resolve, temporaryToken); },
          onClose: function () { end(reject, cancelled()); }
        });
        embed.open();
      });
    });
  }

  function connectBindbee(o) {
    return call("POST", "/bindbee/link-token", { category: o.category, integration: o.integration })
      .then(function (r) { return runBindbee(r.link_token); })
      .then(function (temporaryToken) {
        return call("POST", "/bindbee/connect", {
          temporary_token: temporaryToken, category: o.category, integration: o.integration
        });
      });
  }

  function reconnect(id, options) {
    var o = options || {};
    return call("POST", "/" + encodeURIComponent(id) + "/relink", { language: o.language })
      .then(function (r) {
        if (r.provider !== "kombo") throw new Error("reconnecting is not available for " + r.provider);
        return runKombo(r.link).then(function (activationToken) {
          // Kombo hands back the same integration: the proxy updates its one record.
          return call("POST", "/kombo/activate", { token: activationToken });
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
    reconnect: reconnect,
    list: function () { return call("GET", "").then(function (r) { return r.integrations; }); },
    disconnect: function (id) { return call("DELETE", "/" + encodeURIComponent(id)); }
  };
})();

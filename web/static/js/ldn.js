/* LDN information assistant: the page's shared namespace, window.LDN. Loaded first (after
 * /config.js and the widget); the other scripts of web/static/js add their part to it
 * and web/static/app.js wires them together. The rules for every script of the page are
 * at the top of app.js (no innerHTML; no request but the page's origin and the socket server).
 */
(function () {
  "use strict";

  var cfg = window.LDN_CONFIG || {};
  var SESSION_KEY = "chat_session"; // where rasa-webchat keeps its session (params.storage = "local")
  var VOTES_KEY = "ldn_feedback_votes"; // our own record of votes already given, per session

  function readJson(key) {
    try {
      var raw = window.localStorage.getItem(key);
      return raw ? JSON.parse(raw) : null;
    } catch (e) {
      return null;
    }
  }

  window.LDN = {
    // The page's settings (/config.js).
    cfg: cfg,
    SESSION_KEY: SESSION_KEY,
    VOTES_KEY: VOTES_KEY,

    root: document.getElementById("ldn-webchat"),
    announcer: document.getElementById("ldn-announcer"),
    statusEl: document.getElementById("chat-status"),
    openButton: document.getElementById("open-chat"),
    page: document.getElementById("page"),

    readJson: readJson,

    // The widget's session id, or null before the first connection.
    sessionId: function () {
      var s = readJson(SESSION_KEY);
      return s && typeof s.session_id === "string" && s.session_id ? s.session_id : null;
    },

    // Set an attribute only when it changes (no needless mutations for the observer).
    setAttr: function (el, name, value) {
      if (el && el.getAttribute(name) !== value) el.setAttribute(name, value);
    },
  };
})();

/* LDN information assistant: the connection status, on the page and inside the open chat
 * window (which covers the page on a phone). The widget itself only shows "Connecting…"
 * inside the open chat window.
 */
(function () {
  "use strict";

  var LDN = window.LDN;
  var statusText = "";
  var notice = ""; // shown when the connection is fine ("Your conversation was deleted…")

  function set(text) {
    statusText = text;
    if (LDN.statusEl) LDN.statusEl.textContent = text;
    var inChat = LDN.root.querySelector(".ldn-chat-status");
    if (inChat) inChat.textContent = text;
  }

  LDN.status = {
    set: set,

    // What the status says once the connection is fine.
    setNotice: function (text) {
      notice = text;
    },

    // The status line of the chat window's own bar, showing the current status.
    chatElement: function () {
      var status = document.createElement("p");
      status.className = "ldn-chat-status";
      status.setAttribute("role", "status");
      status.textContent = statusText;
      return status;
    },

    // The widget's onSocketEvent handlers.
    socketEvents: function () {
      return {
        connect: function () {
          set(notice);
        },
        connect_error: function () {
          set("The assistant cannot be reached right now. The chat will reconnect by itself.");
        },
        disconnect: function () {
          set("The connection to the assistant was lost. Reconnecting…");
        },
      };
    },
  };
})();

/* LDN information assistant: the rasa-webchat widget's settings, and mounting it. */
(function () {
  "use strict";

  var LDN = window.LDN;

  LDN.widget = {
    // Whether the widget's script loaded.
    available: function () {
      return !!window.WebChat && typeof window.WebChat.default === "function";
    },

    // rasa-webchat 1.0.1's UMD bundle exposes window.WebChat; its default export
    // is selfMount(props, element), which renders on window "load".
    mount: function () {
      window.WebChat.default(
        {
          socketUrl: LDN.cfg.socketUrl || window.location.origin, // "" means same origin
          socketPath: LDN.cfg.socketPath || "/socket.io/",
          customData: { language: "en" },
          initPayload: "/greet",
          title: "LDN information assistant",
          subtitle: "From one article · not medical advice",
          inputTextFieldHint: "Ask about LDN and MS…",
          connectingText: "Connecting…",
          params: { storage: "local" },
          showFullScreenButton: true,
          showCloseButton: true,
          // Show the launcher even while the server is unreachable (the widget
          // would otherwise render nothing at all), and do not wait for Botfront
          // "rules" in session_confirm, which Rasa never sends.
          hideWhenNotConnected: false,
          withRules: false,
          docViewer: false,
          displayUnreadCount: true,
          // rasa-webchat holds back every bot message for 30 ms per character (0.8 to 3 s),
          // and its quick replies until the last one is shown: show replies as they come.
          customMessageDelay: function () {
            return 0;
          },
          // Page-level status line (the widget only shows "Connecting…" inside
          // the open chat window).
          onSocketEvent: LDN.status.socketEvents(),
        },
        LDN.root
      );
    },
  };
})();

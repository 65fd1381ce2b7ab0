/* LDN information assistant: starts the rasa-webchat widget and wires in what it lacks,
 * one concept a script (web/static/js, loaded before this one, see index.html):
 *   ldn.js       the shared namespace window.LDN: settings, elements, small helpers
 *   messages.js  reading the messages the widget renders
 *   status.js    the connection status, on the page and in the chat window
 *   icons.js     SVG icons (thumbs, bin, and the emoji the replies start with)
 *   announce.js  screen-reader announcements
 *   feedback.js  thumbs up/down under each answer (one pair per turn)
 *   forget.js    "Delete this conversation"
 *   a11y.js      accessible names, focus, keyboard-operable quick replies, Escape
 *   welcome.js   a question sent before the welcome is held until it is in
 *   widget.js    the widget's settings
 *
 * Rules for every script of this page: no innerHTML / insertAdjacentHTML anywhere
 * (message text is only ever read with textContent and written with textContent), no
 * request to anything but the page's origin (feedback, delete) and the configured socket
 * server (the widget itself).
 */
(function () {
  "use strict";

  var LDN = window.LDN;
  var cfg = LDN.cfg;
  var root = LDN.root;

  // The privacy text says what this server keeps, for how long (from /config.js).
  if (typeof cfg.retentionDays === "number") {
    document.querySelectorAll(".ldn-retention").forEach(function (el) {
      el.textContent = String(cfg.retentionDays);
    });
  }
  if (cfg.ledgerText === true) {
    document.querySelectorAll(".ldn-ledger-text").forEach(function (el) {
      el.textContent = ", with your words";
    });
  }

  if (!LDN.widget.available()) {
    LDN.status.set("The chat could not be loaded. Please reload the page.");
    if (LDN.openButton) LDN.openButton.disabled = true;
    return;
  }
  LDN.widget.mount();

  // Each bot message: icons for its emoji, its passage links labelled, announced if new,
  // and, if it takes the turn's vote, its thumbs.
  function enhanceMessages() {
    var list = root.querySelector("#rw-messages");
    if (!list) {
      LDN.announce.listGone();
      return;
    }
    var messages = LDN.messages.all();
    var sid = LDN.sessionId();
    var votes = sid ? LDN.feedback.storedVotes(sid) : {};
    var newest = -1;
    var newestText = [];

    var userSpoke = false;
    for (var i = 0; i < messages.length; i++) {
      var m = messages[i];
      if (!LDN.messages.isBot(m)) {
        userSpoke = true;
        continue;
      }
      LDN.icons.iconifyOnce(m);
      LDN.a11y.labelPassageLinks(m);
      if (LDN.announce.isNew(i)) {
        newest = i;
        newestText.push(LDN.messages.text(m));
      }
      // The welcome messages (disclaimer, greeting) that come before the
      // user's first message are not answers: no thumbs under them. After that, one
      // pair per turn, under the bubble the server marked (an answer with its source,
      // or a referral): none under small talk, notes or the emergency message.
      if (!userSpoke || !LDN.messages.isVoteTarget(m)) continue;
      LDN.feedback.place(m, votes[String(i)]);
    }
    LDN.announce.arrived(messages.length, newest, newestText);
  }

  function enhance() {
    LDN.a11y.labelControls();
    enhanceMessages();
  }

  new MutationObserver(enhance).observe(root, {
    childList: true,
    subtree: true,
    attributes: true, // class changes: full-screen toggle
    attributeFilter: ["class"],
  });
  window.addEventListener("resize", LDN.a11y.labelControls);

  // One delegated listener for clicks on the launcher and on our vote buttons.
  root.addEventListener("click", function (ev) {
    if (ev.target.closest && ev.target.closest(".rw-launcher")) LDN.a11y.launcherClicked();
    var button = ev.target.closest && ev.target.closest(".ldn-vote");
    if (button && root.contains(button)) {
      ev.preventDefault();
      ev.stopPropagation();
      LDN.feedback.send(button);
    }
  });

  LDN.welcome.install();
  LDN.forget.install();
  LDN.a11y.install();
  LDN.forget.afterDelete();
})();

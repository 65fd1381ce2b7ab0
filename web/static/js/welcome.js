/* LDN information assistant: a question sent before the welcome messages of a new
 * conversation have arrived would be shown above them (and the welcome would then get
 * thumbs): hold it until they are in, then send it (the text stays in the box meanwhile).
 */
(function () {
  "use strict";

  var LDN = window.LDN;
  var root = LDN.root;
  var held = false;
  var welcomeSeenAt = 0;
  var holdStarted = 0;

  function welcomeIn() {
    if (LDN.messages.botCount() === 0) return holdStarted > 0 && Date.now() - holdStarted > 10000; // never came
    // The welcome is a few messages in a row; its last one brings the quick replies.
    if (root.querySelector(".rw-replies")) return true;
    if (!welcomeSeenAt) welcomeSeenAt = Date.now();
    return Date.now() - welcomeSeenAt > 1500;
  }

  function releaseHeld() {
    if (!held) return;
    if (!welcomeIn()) {
      window.setTimeout(releaseHeld, 50);
      return;
    }
    held = false;
    var form = root.querySelector("form.rw-sender");
    if (form) form.dispatchEvent(new Event("submit", { cancelable: true }));
  }

  // Holds the widget's form submits (capture phase, before the widget sees them).
  function install() {
    root.addEventListener(
      "submit",
      function (ev) {
        if (!ev.target.matches || !ev.target.matches("form.rw-sender")) return;
        if (!held && (LDN.messages.userSpokeYet() || welcomeIn())) return;
        ev.preventDefault();
        ev.stopPropagation();
        if (!held) {
          held = true;
          holdStarted = Date.now();
          window.setTimeout(releaseHeld, 50);
        }
      },
      true
    );
  }

  LDN.welcome = { install: install };
})();

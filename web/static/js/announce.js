/* LDN information assistant: screen-reader announcements (the #ldn-announcer live
 * region, text only): what the page says happened, and the assistant's new messages.
 */
(function () {
  "use strict";

  var LDN = window.LDN;
  var lastAnnounced = -1; // highest message index already announced
  var seenContainer = false;

  function say(text) {
    if (!LDN.announcer || !text) return;
    LDN.announcer.textContent = "";
    // A separate task so repeated identical texts are announced again.
    window.setTimeout(function () {
      LDN.announcer.textContent = text;
    }, 50);
  }

  LDN.announce = {
    say: say,

    // The message list is gone (chat closed): its next render is a first render again.
    listGone: function () {
      seenContainer = false;
    },

    // Whether message `index` was not announced yet.
    isNew: function (index) {
      return index > lastAnnounced;
    },

    // After a render of `count` messages: read out the new bot messages (`newest`, the
    // highest index among them, and their texts).
    arrived: function (count, newest, texts) {
      if (!seenContainer) {
        // First render of the message list (page load or chat reopened): the
        // history is not news, only messages arriving from now on are read out.
        seenContainer = true;
        lastAnnounced = Math.max(lastAnnounced, count - 1);
        return;
      }
      if (newest > lastAnnounced) {
        lastAnnounced = newest;
        say("Assistant: " + texts.join(" "));
      }
      if (count - 1 > lastAnnounced) lastAnnounced = count - 1;
    },
  };
})();

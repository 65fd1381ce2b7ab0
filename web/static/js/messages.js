/* LDN information assistant: reading the messages the rasa-webchat widget renders. */
(function () {
  "use strict";

  var root = window.LDN.root;

  // All rendered messages (user and bot), in conversation order. The widget
  // renders #rw-messages > .rw-group-message.rw-from-{client|response} > .rw-message
  // (the typing indicator is a .rw-message directly under #rw-messages and is
  // not matched).
  function all() {
    return root.querySelectorAll("#rw-messages > .rw-group-message > .rw-message");
  }

  function isBot(messageEl) {
    var group = messageEl.parentElement;
    return !!group && group.classList.contains("rw-from-response");
  }

  window.LDN.messages = {
    all: all,
    isBot: isBot,

    // message_index = 0-based position of the message in the conversation shown
    // by the widget (user and bot messages both count; the hidden init payload
    // "/greet" does not). Computed at click time so it is always current.
    index: function (messageEl) {
      return Array.prototype.indexOf.call(all(), messageEl);
    },

    // bot_index = 0-based position among the bot's messages only: the server maps it
    // to the turn that produced the message (and its ledger row).
    botIndex: function (messageEl) {
      var bots = Array.prototype.filter.call(all(), isBot);
      return bots.indexOf(messageEl);
    },

    botCount: function () {
      return Array.prototype.filter.call(all(), isBot).length;
    },

    userSpokeYet: function () {
      return root.querySelector("#rw-messages .rw-from-client") !== null;
    },

    // The server marks the one bubble of a turn that takes its vote (ldn_bot.web_bubbles).
    isVoteTarget: function (messageEl) {
      return messageEl.querySelector(".rw-response.ldn-votable") !== null;
    },

    text: function (messageEl) {
      // Text of the bubble only (not our feedback controls or quick replies).
      var bubble = messageEl.querySelector(".rw-response");
      return (bubble || messageEl).textContent.replace(/\s+/g, " ").trim();
    },
  };
})();

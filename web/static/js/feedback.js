/* LDN information assistant: thumbs up/down under an answer (one pair per turn), sent to
 * the page's origin (feedback URL from /config.js) and remembered in this browser.
 */
(function () {
  "use strict";

  var LDN = window.LDN;
  var FEEDBACK_URL = LDN.cfg.feedbackUrl || "./api/feedback";
  var THANKS = "Thanks for your feedback";

  // The votes this browser already gave in session `sid`, by message index.
  function storedVotes(sid) {
    var v = LDN.readJson(LDN.VOTES_KEY);
    return v && v.session_id === sid && v.votes && typeof v.votes === "object" ? v.votes : {};
  }

  function rememberVote(sid, index, vote) {
    var votes = storedVotes(sid);
    votes[String(index)] = vote;
    try {
      window.localStorage.setItem(LDN.VOTES_KEY, JSON.stringify({ session_id: sid, votes: votes }));
    } catch (e) {
      /* storage full or disabled: the vote was still sent */
    }
  }

  function build() {
    var box = document.createElement("div");
    box.className = "ldn-feedback";
    box.setAttribute("role", "group");
    box.setAttribute("aria-label", "Was this answer helpful?");

    [
      ["up", "Helpful", "This answer was helpful"],
      ["down", "Not helpful", "This answer was not helpful"],
    ].forEach(function (spec) {
      var b = document.createElement("button");
      b.type = "button";
      b.className = "ldn-vote ldn-vote-" + spec[0];
      b.setAttribute("data-vote", spec[0]);
      b.setAttribute("aria-label", spec[2]);
      b.setAttribute("aria-pressed", "false");
      b.title = spec[1];
      b.appendChild(LDN.icons.thumb());
      box.appendChild(b);
    });

    var note = document.createElement("span");
    note.className = "ldn-feedback-note";
    box.appendChild(note);
    return box;
  }

  function showVoted(box, vote, text) {
    box.classList.add("ldn-voted");
    box.querySelectorAll(".ldn-vote").forEach(function (b) {
      LDN.setAttr(b, "aria-pressed", b.getAttribute("data-vote") === vote ? "true" : "false");
      // aria-disabled (not disabled) keeps the focused button focusable.
      LDN.setAttr(b, "aria-disabled", "true");
    });
    box.querySelector(".ldn-feedback-note").textContent = text;
  }

  function send(button) {
    var box = button.closest(".ldn-feedback");
    var messageEl = box && box.parentElement;
    if (!box || !messageEl || box.classList.contains("ldn-voted") || box.classList.contains("ldn-sending")) {
      return;
    }
    var vote = button.getAttribute("data-vote");
    var note = box.querySelector(".ldn-feedback-note");
    var sid = LDN.sessionId();
    var index = LDN.messages.index(messageEl);
    var botIdx = LDN.messages.botIndex(messageEl);
    if (!sid || index < 0 || botIdx < 0 || (vote !== "up" && vote !== "down")) {
      note.textContent = "Feedback could not be sent.";
      return;
    }
    box.classList.add("ldn-sending");
    note.textContent = "Sending…";
    fetch(FEEDBACK_URL, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      credentials: "same-origin",
      body: JSON.stringify({ session_id: sid, bot_index: botIdx, vote: vote }),
    })
      .then(function (res) {
        if (!res.ok) throw new Error("HTTP " + res.status);
        rememberVote(sid, index, vote);
        showVoted(box, vote, THANKS);
        LDN.announce.say(THANKS + ".");
      })
      .catch(function () {
        note.textContent = "Feedback could not be sent. Please try again.";
        LDN.announce.say("Feedback could not be sent.");
      })
      .then(function () {
        box.classList.remove("ldn-sending");
      });
  }

  // The thumbs under a message that takes a vote (`vote`: the one already given, if any).
  function place(messageEl, vote) {
    var box = null;
    for (var c = 0; c < messageEl.children.length; c++) {
      if (messageEl.children[c].classList.contains("ldn-feedback")) box = messageEl.children[c];
    }
    if (!box) {
      box = build();
      if (vote) showVoted(box, vote, THANKS);
      messageEl.appendChild(box);
    } else if (box !== messageEl.lastElementChild) {
      // React re-rendered the bubble (e.g. after a quick reply was chosen)
      // and put it after our controls: keep the thumbs under the answer.
      messageEl.appendChild(box);
    }
  }

  LDN.feedback = { storedVotes: storedVotes, place: place, send: send };
})();

/* LDN information assistant: starts the rasa-webchat widget and adds what it
 * lacks: thumbs up/down feedback under each bot answer, accessible names,
 * keyboard-operable quick replies and screen-reader announcements.
 *
 * Rules for this file: no innerHTML / insertAdjacentHTML anywhere (message text
 * is only ever read with textContent and written with textContent), no request
 * to anything but the page's origin (feedback) and the configured socket server
 * (the widget itself).
 */
(function () {
  "use strict";

  var cfg = window.LDN_CONFIG || {};
  var SOCKET_URL = cfg.socketUrl || window.location.origin; // "" means same origin
  var SOCKET_PATH = cfg.socketPath || "/socket.io/";
  var FEEDBACK_URL = cfg.feedbackUrl || "./api/feedback";

  var SESSION_KEY = "chat_session"; // where rasa-webchat keeps its session (params.storage = "local")
  var VOTES_KEY = "ldn_feedback_votes"; // our own record of votes already given, per session

  var root = document.getElementById("ldn-webchat");
  var announcer = document.getElementById("ldn-announcer");
  var statusEl = document.getElementById("chat-status");
  var openButton = document.getElementById("open-chat");
  var page = document.getElementById("page");

  if (!window.WebChat || typeof window.WebChat.default !== "function") {
    setStatus("The chat could not be loaded. Please reload the page.");
    if (openButton) openButton.disabled = true;
    return;
  }

  // ---------------------------------------------------------------- widget --
  // rasa-webchat 1.0.1's UMD bundle exposes window.WebChat; its default export
  // is selfMount(props, element), which renders on window "load".
  window.WebChat.default(
    {
      socketUrl: SOCKET_URL,
      socketPath: SOCKET_PATH,
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
      onSocketEvent: {
        connect: function () {
          setStatus("");
        },
        connect_error: function () {
          setStatus("The assistant cannot be reached right now. The chat will reconnect by itself.");
        },
        disconnect: function () {
          setStatus("The connection to the assistant was lost. Reconnecting…");
        },
      },
    },
    root
  );

  // ------------------------------------------------------------- helpers --
  function setStatus(text) {
    if (statusEl) statusEl.textContent = text;
  }

  function readJson(key) {
    try {
      var raw = window.localStorage.getItem(key);
      return raw ? JSON.parse(raw) : null;
    } catch (e) {
      return null;
    }
  }

  function sessionId() {
    var s = readJson(SESSION_KEY);
    return s && typeof s.session_id === "string" && s.session_id ? s.session_id : null;
  }

  function storedVotes(sid) {
    var v = readJson(VOTES_KEY);
    return v && v.session_id === sid && v.votes && typeof v.votes === "object" ? v.votes : {};
  }

  function rememberVote(sid, index, vote) {
    var votes = storedVotes(sid);
    votes[String(index)] = vote;
    try {
      window.localStorage.setItem(VOTES_KEY, JSON.stringify({ session_id: sid, votes: votes }));
    } catch (e) {
      /* storage full or disabled: the vote was still sent */
    }
  }

  function setAttr(el, name, value) {
    if (el && el.getAttribute(name) !== value) el.setAttribute(name, value);
  }

  var SVG_NS = "http://www.w3.org/2000/svg";
  // Thumb icon (up); the "down" button shows it rotated.
  var THUMB_PATH =
    "M2 21h4V9H2v12zm20-11a2 2 0 0 0-2-2h-6.3l1-4.6v-.3c0-.4-.2-.8-.4-1.1L13.2 1 6.6 7.6C6.2 8 6 8.5 6 9v10a2 2 0 0 0 2 2h9c.8 0 1.5-.5 1.8-1.2l3-7.1c.1-.2.2-.5.2-.7v-2z";

  function thumbIcon() {
    var svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", "16");
    svg.setAttribute("height", "16");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var path = document.createElementNS(SVG_NS, "path");
    path.setAttribute("d", THUMB_PATH);
    path.setAttribute("fill", "currentColor");
    svg.appendChild(path);
    return svg;
  }

  // All rendered messages (user and bot), in conversation order. The widget
  // renders #rw-messages > .rw-group-message.rw-from-{client|response} > .rw-message
  // (the typing indicator is a .rw-message directly under #rw-messages and is
  // not matched).
  function allMessages() {
    return root.querySelectorAll("#rw-messages > .rw-group-message > .rw-message");
  }

  // message_index = 0-based position of the message in the conversation shown
  // by the widget (user and bot messages both count; the hidden init payload
  // "/greet" does not). Computed at click time so it is always current.
  function messageIndex(messageEl) {
    return Array.prototype.indexOf.call(allMessages(), messageEl);
  }

  // bot_index = 0-based position among the bot's messages only: the server maps it
  // to the turn that produced the message (and its ledger row).
  function botIndex(messageEl) {
    var bots = Array.prototype.filter.call(allMessages(), isBotMessage);
    return bots.indexOf(messageEl);
  }

  function isBotMessage(messageEl) {
    var group = messageEl.parentElement;
    return !!group && group.classList.contains("rw-from-response");
  }

  function messageText(messageEl) {
    // Text of the bubble only (not our feedback controls or quick replies).
    var bubble = messageEl.querySelector(".rw-response");
    return (bubble || messageEl).textContent.replace(/\s+/g, " ").trim();
  }

  function announce(text) {
    if (!announcer || !text) return;
    announcer.textContent = "";
    // A separate task so repeated identical texts are announced again.
    window.setTimeout(function () {
      announcer.textContent = text;
    }, 50);
  }

  // ------------------------------------------------------------ feedback --
  function buildFeedback() {
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
      b.appendChild(thumbIcon());
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
      setAttr(b, "aria-pressed", b.getAttribute("data-vote") === vote ? "true" : "false");
      // aria-disabled (not disabled) keeps the focused button focusable.
      setAttr(b, "aria-disabled", "true");
    });
    box.querySelector(".ldn-feedback-note").textContent = text;
  }

  function sendVote(button) {
    var box = button.closest(".ldn-feedback");
    var messageEl = box && box.parentElement;
    if (!box || !messageEl || box.classList.contains("ldn-voted") || box.classList.contains("ldn-sending")) {
      return;
    }
    var vote = button.getAttribute("data-vote");
    var note = box.querySelector(".ldn-feedback-note");
    var sid = sessionId();
    var index = messageIndex(messageEl);
    var botIdx = botIndex(messageEl);
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
        showVoted(box, vote, "Thanks for your feedback");
        announce("Thanks for your feedback.");
      })
      .catch(function () {
        note.textContent = "Feedback could not be sent. Please try again.";
        announce("Feedback could not be sent.");
      })
      .then(function () {
        box.classList.remove("ldn-sending");
      });
  }

  // --------------------------------------------------- DOM enhancements --
  var lastAnnounced = -1; // highest message index already announced
  var seenContainer = false;
  var wasOpen = false; // was the chat window open at the last DOM change?
  var launcherClickedAt = 0;

  function labelControls() {
    var container = root.querySelector(".rw-conversation-container");
    var launcher = root.querySelector(".rw-launcher");
    if (launcher) {
      setAttr(launcher, "type", "button");
      setAttr(launcher, "aria-label", container ? "Close the chat" : "Open the chat with the LDN information assistant");
      setAttr(launcher, "aria-expanded", container ? "true" : "false");
    }
    if (openButton) openButton.textContent = container ? "Go to the chat" : "Open the chat";
    setAttr(root.querySelector(".rw-new-message"), "aria-label", "Your question");
    setAttr(root.querySelector(".rw-send"), "aria-label", "Send");
    setAttr(root.querySelector(".rw-close-button"), "aria-label", "Close the chat");
    setAttr(root.querySelector(".rw-toggle-fullscreen-button"), "aria-label", "Toggle full screen");
    if (container && !wasOpen && Date.now() - launcherClickedAt < 3000) {
      // Just opened by the user. The widget autofocuses the input only when it is enabled
      // (connected), and on small screens it hides the launcher that had the
      // focus: never leave the keyboard focus stranded on <body>.
      window.setTimeout(function () {
        var active = document.activeElement;
        if (!active || active === document.body || active.offsetParent === null) {
          var input = root.querySelector(".rw-new-message");
          var target = input && !input.disabled ? input : root.querySelector("#rw-messages");
          if (target) target.focus();
        }
      }, 0);
    }
    wasOpen = !!container;
    // On a phone (or in full-screen mode) the open chat covers the whole page:
    // make the page behind it inert so Tab cannot wander onto hidden content.
    var covers = !!container && container.getBoundingClientRect().width >= window.innerWidth - 2;
    if (page && page.hasAttribute("inert") !== covers) {
      if (covers) page.setAttribute("inert", "");
      else page.removeAttribute("inert");
    }
    if (container) {
      setAttr(container, "role", "dialog");
      setAttr(container, "aria-label", "Chat with the LDN information assistant");
    }
    var list = root.querySelector("#rw-messages");
    if (list) {
      // A scrollable region must be reachable by keyboard to be scrolled.
      setAttr(list, "tabindex", "0");
      setAttr(list, "aria-label", "Conversation");
    }
    // Quick replies are <div onClick> in the widget: make them buttons for
    // assistive technology and the keyboard (keys handled in onKeyDown below).
    root.querySelectorAll("div.rw-reply").forEach(function (el) {
      setAttr(el, "role", "button");
      setAttr(el, "tabindex", "0");
    });
  }

  function enhanceMessages() {
    var list = root.querySelector("#rw-messages");
    if (!list) {
      seenContainer = false;
      return;
    }
    var messages = allMessages();
    var sid = sessionId();
    var votes = sid ? storedVotes(sid) : {};
    var newest = -1;
    var newestText = [];

    var userSpoke = false;
    for (var i = 0; i < messages.length; i++) {
      var m = messages[i];
      if (!isBotMessage(m)) {
        userSpoke = true;
        continue;
      }
      if (i > lastAnnounced) {
        newest = i;
        newestText.push(messageText(m));
      }
      // The welcome messages (disclaimer, greeting) that come before the
      // user's first message are not answers: no thumbs under them.
      if (!userSpoke) continue;
      var box = null;
      for (var c = 0; c < m.children.length; c++) {
        if (m.children[c].classList.contains("ldn-feedback")) box = m.children[c];
      }
      if (!box) {
        box = buildFeedback();
        if (votes[String(i)]) showVoted(box, votes[String(i)], "Thanks for your feedback");
        m.appendChild(box);
      } else if (box !== m.lastElementChild) {
        // React re-rendered the bubble (e.g. after a quick reply was chosen)
        // and put it after our controls: keep the thumbs under the answer.
        m.appendChild(box);
      }
    }

    if (!seenContainer) {
      // First render of the message list (page load or chat reopened): the
      // history is not news, only messages arriving from now on are read out.
      seenContainer = true;
      lastAnnounced = Math.max(lastAnnounced, messages.length - 1);
      return;
    }
    if (newest > lastAnnounced) {
      lastAnnounced = newest;
      announce("Assistant: " + newestText.join(" "));
    }
    if (messages.length - 1 > lastAnnounced) lastAnnounced = messages.length - 1;
  }

  function enhance() {
    labelControls();
    enhanceMessages();
  }

  new MutationObserver(enhance).observe(root, {
    childList: true,
    subtree: true,
    attributes: true, // class changes: full-screen toggle
    attributeFilter: ["class"],
  });
  window.addEventListener("resize", labelControls);

  // One delegated listener for clicks on the launcher and on our vote buttons.
  root.addEventListener("click", function (ev) {
    if (ev.target.closest && ev.target.closest(".rw-launcher")) launcherClickedAt = Date.now();
    var button = ev.target.closest && ev.target.closest(".ldn-vote");
    if (button && root.contains(button)) {
      ev.preventDefault();
      ev.stopPropagation();
      sendVote(button);
    }
  });

  // Enter / Space on a quick reply (a div) acts like a click.
  root.addEventListener("keydown", function (ev) {
    var t = ev.target;
    if ((ev.key === "Enter" || ev.key === " ") && t.matches && t.matches("div.rw-reply[role=button]")) {
      ev.preventDefault();
      t.click();
    }
  });

  // "Open the chat" on the page: opens (or focuses) the widget and puts the
  // keyboard focus in the question box.
  if (openButton) {
    openButton.addEventListener("click", function () {
      var launcher = root.querySelector(".rw-launcher");
      if (!root.querySelector(".rw-conversation-container") && launcher) launcher.click();
      var tries = 0;
      (function focusInput() {
        labelControls(); // makes #rw-messages focusable if it was just mounted
        var input = root.querySelector(".rw-new-message");
        if (input && !input.disabled) {
          input.focus();
        } else if (input || tries > 20) {
          // Disabled while waiting for the server: focus the conversation.
          var list = root.querySelector("#rw-messages") || launcher;
          if (list) list.focus();
        } else {
          tries += 1;
          window.setTimeout(focusInput, 50);
        }
      })();
    });
  }

  // Escape inside the open chat closes it and returns focus to the launcher.
  root.addEventListener("keydown", function (ev) {
    if (ev.key !== "Escape") return;
    var closeBtn = root.querySelector(".rw-close-button");
    if (closeBtn && root.querySelector(".rw-conversation-container")) {
      ev.preventDefault();
      closeBtn.click();
      window.setTimeout(function () {
        var launcher = root.querySelector(".rw-launcher");
        if (launcher) launcher.focus();
      }, 0);
    }
  });
})();

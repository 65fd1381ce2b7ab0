/* LDN information assistant: starts the rasa-webchat widget and adds what it
 * lacks: thumbs up/down feedback under each answer (one pair per turn), accessible names,
 * keyboard-operable quick replies and screen-reader announcements, "Delete this
 * conversation", the connection status inside the chat window, and SVG icons for the
 * emoji the replies start with (no emoji font needed).
 *
 * Rules for this file: no innerHTML / insertAdjacentHTML anywhere (message text
 * is only ever read with textContent and written with textContent), no request
 * to anything but the page's origin (feedback, delete) and the configured socket server
 * (the widget itself).
 */
(function () {
  "use strict";

  var cfg = window.LDN_CONFIG || {};
  var SOCKET_URL = cfg.socketUrl || window.location.origin; // "" means same origin
  var SOCKET_PATH = cfg.socketPath || "/socket.io/";
  var FEEDBACK_URL = cfg.feedbackUrl || "./api/feedback";
  var FORGET_URL = cfg.forgetUrl || "./api/forget";

  var SESSION_KEY = "chat_session"; // where rasa-webchat keeps its session (params.storage = "local")
  var VOTES_KEY = "ldn_feedback_votes"; // our own record of votes already given, per session
  var DELETED_KEY = "ldn_deleted"; // sessionStorage: "open" or "closed" across the reload after a delete

  var root = document.getElementById("ldn-webchat");
  var announcer = document.getElementById("ldn-announcer");
  var statusEl = document.getElementById("chat-status");
  var openButton = document.getElementById("open-chat");
  var page = document.getElementById("page");
  var statusText = "";
  var notice = ""; // shown when the connection is fine ("Your conversation was deleted…")

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
          setStatus(notice);
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
  // The status shows on the page and inside the open chat window (which covers the page
  // on a phone).
  function setStatus(text) {
    statusText = text;
    if (statusEl) statusEl.textContent = text;
    var inChat = root.querySelector(".ldn-chat-status");
    if (inChat) inChat.textContent = text;
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

  // The server marks the one bubble of a turn that takes its vote (ldn_bot.web_bubbles).
  function isVoteTarget(messageEl) {
    return messageEl.querySelector(".rw-response.ldn-votable") !== null;
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

  // ---------------------------------------------------------------- icons --
  // Small inline SVG icons (24x24, currentColor) for the emoji the replies start with
  // (domain.yml): without an emoji font they showed as empty boxes.
  var ICONS = {
    "\uD83D\uDCC4": {
      // 📄 page: the source of an answer
      label: "Source",
      d: "M6 2h8l6 6v14H6V2zm8 1.5V9h5.5M9 13h8M9 16.5h8M9 10h3",
      stroke: true,
    },
    "\uD83D\uDEA8": {
      // 🚨 warning triangle: the emergency message
      label: "Emergency",
      d: "M12 2 1 21h22L12 2zm-1 7h2v6h-2V9zm0 8h2v2h-2v-2z",
      stroke: false,
    },
    "\u2139": {
      // ℹ️ information
      label: "Information",
      d: "M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20zm-1 8h2v7h-2v-7zm0-4h2v2h-2V6z",
      stroke: false,
    },
  };
  var ICON_GLYPHS = /(\uD83D\uDCC4|\uD83D\uDEA8|\u2139)\uFE0F?\s?/;

  function icon(spec) {
    var svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", "16");
    svg.setAttribute("height", "16");
    svg.setAttribute("class", "ldn-icon");
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", spec.label);
    svg.setAttribute("focusable", "false");
    var path = document.createElementNS(SVG_NS, "path");
    path.setAttribute("d", spec.d);
    if (spec.stroke) {
      path.setAttribute("fill", "none");
      path.setAttribute("stroke", "currentColor");
      path.setAttribute("stroke-width", "1.6");
      path.setAttribute("stroke-linejoin", "round");
    } else {
      path.setAttribute("fill", "currentColor");
    }
    svg.appendChild(path);
    return svg;
  }

  // Replace each emoji of ICONS in a bot bubble's text with its icon: the text node keeps
  // the rest of its text (React still owns it), the icon goes just before it.
  function iconify(messageEl) {
    var bubble = messageEl.querySelector(".rw-response") || messageEl;
    var walker = document.createTreeWalker(bubble, NodeFilter.SHOW_TEXT);
    var found = [];
    for (var node = walker.nextNode(); node; node = walker.nextNode()) {
      if (ICON_GLYPHS.test(node.data)) found.push(node);
    }
    found.forEach(function (textNode) {
      var match;
      while ((match = ICON_GLYPHS.exec(textNode.data))) {
        var before = textNode.data.slice(0, match.index);
        var after = textNode.data.slice(match.index + match[0].length);
        if (before) textNode.parentNode.insertBefore(document.createTextNode(before), textNode);
        textNode.parentNode.insertBefore(icon(ICONS[match[1]]), textNode);
        textNode.data = after;
      }
    });
  }

  // An answer's "read the passage" link goes to the article page of the server that
  // answered (the page may be served from elsewhere: then cfg.socketUrl names it), in a
  // new tab (the widget's own rendering), and says so.
  function labelPassageLinks(messageEl) {
    messageEl.querySelectorAll(".rw-response a[href^='/article']").forEach(function (a) {
      if (a.hasAttribute("data-ldn-passage")) return;
      a.setAttribute("data-ldn-passage", "");
      if (cfg.socketUrl) {
        try {
          a.setAttribute("href", new URL(a.getAttribute("href"), cfg.socketUrl).href);
        } catch (e) {
          /* an unusable socketUrl: the link stays on this page's origin */
        }
      }
      a.setAttribute("aria-label", a.textContent + " in the article (opens in a new tab)");
    });
  }

  // --------------------------------------------------- delete conversation --
  var TRASH_PATH = "M9 3h6l1 2h4v2H4V5h4l1-2zM6 8h12l-1 13H7L6 8zm4 3v7h1.5v-7H10zm3.5 0v7H15v-7h-1.5z";

  function trashIcon() {
    return icon({ label: "", d: TRASH_PATH, stroke: false });
  }

  // The chat window's own bar (under its title): "Delete this conversation" and the
  // connection status. Added again whenever the widget re-renders without it.
  function chatBar() {
    var bar = document.createElement("div");
    bar.className = "ldn-chat-bar";
    var status = document.createElement("p");
    status.className = "ldn-chat-status";
    status.setAttribute("role", "status");
    status.textContent = statusText;
    var box = document.createElement("div");
    box.className = "ldn-delete";
    box.setAttribute("data-place", "chat");
    var ask = document.createElement("button");
    ask.type = "button";
    ask.className = "ldn-delete-ask";
    var svg = trashIcon();
    svg.removeAttribute("role");
    svg.removeAttribute("aria-label");
    svg.setAttribute("aria-hidden", "true");
    ask.appendChild(svg);
    ask.appendChild(document.createTextNode(" Delete this conversation"));
    box.appendChild(ask);
    bar.appendChild(status);
    bar.appendChild(box);
    return bar;
  }

  // First click: ask to confirm, in place (no window.confirm dialog).
  function askDelete(box) {
    if (box.querySelector(".ldn-delete-confirm")) return;
    var ask = box.querySelector(".ldn-delete-ask");
    var confirmBox = document.createElement("div");
    confirmBox.className = "ldn-delete-confirm";
    confirmBox.setAttribute("role", "group");
    confirmBox.setAttribute("aria-label", "Delete this conversation?");
    var text = document.createElement("span");
    text.className = "ldn-delete-note";
    text.textContent = "Delete it from the server and this browser?";
    var yes = document.createElement("button");
    yes.type = "button";
    yes.className = "ldn-delete-yes";
    yes.textContent = "Delete";
    var no = document.createElement("button");
    no.type = "button";
    no.className = "ldn-delete-no";
    no.textContent = "Cancel";
    confirmBox.appendChild(text);
    confirmBox.appendChild(yes);
    confirmBox.appendChild(no);
    if (ask) ask.hidden = true;
    box.appendChild(confirmBox);
    yes.focus();
  }

  function cancelDelete(box) {
    var confirmBox = box.querySelector(".ldn-delete-confirm");
    if (confirmBox) confirmBox.remove();
    var ask = box.querySelector(".ldn-delete-ask");
    if (ask) {
      ask.hidden = false;
      ask.focus();
    }
  }

  function forgetLocally() {
    try {
      window.localStorage.removeItem(SESSION_KEY);
      window.localStorage.removeItem(VOTES_KEY);
    } catch (e) {
      /* storage disabled: nothing kept here */
    }
  }

  // Second click: delete on the server (the caller's own signed session only), then
  // forget it here and start afresh (a reload: the widget asks for a new session).
  function doDelete(box) {
    var note = box.querySelector(".ldn-delete-note");
    var buttons = box.querySelectorAll("button");
    var sid = sessionId();
    var wasOpenNow = !!root.querySelector(".rw-conversation-container");
    function restart() {
      forgetLocally();
      try {
        window.sessionStorage.setItem(DELETED_KEY, wasOpenNow ? "open" : "closed");
      } catch (e) {
        /* the notice after the reload is lost, the delete is not */
      }
      window.location.reload();
    }
    if (!sid) {
      restart(); // nothing was ever sent: nothing stored on the server
      return;
    }
    buttons.forEach(function (b) {
      b.disabled = true;
    });
    if (note) note.textContent = "Deleting…";
    fetch(FORGET_URL, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      credentials: "same-origin",
      body: JSON.stringify({ session_id: sid }),
    })
      .then(function (res) {
        if (!res.ok) throw new Error("HTTP " + res.status);
        restart();
      })
      .catch(function () {
        buttons.forEach(function (b) {
          b.disabled = false;
        });
        if (note) note.textContent = "The conversation could not be deleted. Please try again.";
        announce("The conversation could not be deleted.");
      });
  }

  // After the reload that follows a delete: say so, and reopen the chat if it was open.
  function afterDelete() {
    var state = null;
    try {
      state = window.sessionStorage.getItem(DELETED_KEY);
      window.sessionStorage.removeItem(DELETED_KEY);
    } catch (e) {
      return;
    }
    if (!state) return;
    var done = "Your conversation was deleted. A new one has started.";
    announce(done);
    notice = done;
    setStatus(done);
    if (state === "open") {
      var tries = 0;
      (function reopen() {
        var launcher = root.querySelector(".rw-launcher");
        if (launcher && !root.querySelector(".rw-conversation-container")) {
          launcherClickedAt = Date.now();
          launcher.click();
        } else if (!launcher && tries++ < 100) {
          window.setTimeout(reopen, 50);
        }
      })();
    }
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
      if (!container.querySelector(".ldn-chat-bar")) {
        var header = container.querySelector(".rw-header-and-loading") || container.querySelector(".rw-header");
        if (header && header.parentNode) header.parentNode.insertBefore(chatBar(), header.nextSibling);
      }
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
      if (!m.hasAttribute("data-ldn-icons")) {
        m.setAttribute("data-ldn-icons", "");
        iconify(m);
      }
      labelPassageLinks(m);
      if (i > lastAnnounced) {
        newest = i;
        newestText.push(messageText(m));
      }
      // The welcome messages (disclaimer, greeting) that come before the
      // user's first message are not answers: no thumbs under them. After that, one
      // pair per turn, under the bubble the server marked (an answer with its source,
      // or a referral): none under small talk, notes or the emergency message.
      if (!userSpoke || !isVoteTarget(m)) continue;
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

  // A question sent before the welcome messages of a new conversation have arrived would
  // be shown above them (and the welcome would then get thumbs): hold it until they are
  // in, then send it (the text stays in the box meanwhile).
  var held = false;
  var welcomeSeenAt = 0;
  var holdStarted = 0;

  function botCount() {
    return Array.prototype.filter.call(allMessages(), isBotMessage).length;
  }

  function welcomeIn() {
    if (botCount() === 0) return holdStarted > 0 && Date.now() - holdStarted > 10000; // never came
    // The welcome is a few messages in a row; its last one brings the quick replies.
    if (root.querySelector(".rw-replies")) return true;
    if (!welcomeSeenAt) welcomeSeenAt = Date.now();
    return Date.now() - welcomeSeenAt > 1500;
  }

  function userSpokeYet() {
    return root.querySelector("#rw-messages .rw-from-client") !== null;
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

  root.addEventListener(
    "submit",
    function (ev) {
      if (!ev.target.matches || !ev.target.matches("form.rw-sender")) return;
      if (!held && (userSpokeYet() || welcomeIn())) return;
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

  // "Delete this conversation" (in the chat window and on the page), then confirm or cancel.
  document.addEventListener("click", function (ev) {
    var target = ev.target.closest && ev.target.closest(".ldn-delete button");
    if (!target) return;
    var box = target.closest(".ldn-delete");
    ev.preventDefault();
    ev.stopPropagation();
    if (target.classList.contains("ldn-delete-ask")) askDelete(box);
    else if (target.classList.contains("ldn-delete-yes")) doDelete(box);
    else if (target.classList.contains("ldn-delete-no")) cancelDelete(box);
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
  afterDelete();
})();

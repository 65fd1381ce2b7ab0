/* LDN information assistant: "Delete this conversation", on the page and in the chat
 * window's own bar: ask to confirm in place, delete on the server (the page's origin,
 * forget URL from /config.js) and in this browser, then reload into a new conversation.
 */
(function () {
  "use strict";

  var LDN = window.LDN;
  var root = LDN.root;
  var FORGET_URL = LDN.cfg.forgetUrl || "./api/forget";
  var DELETED_KEY = "ldn_deleted"; // sessionStorage: "open" or "closed" across the reload after a delete

  // The chat window's own bar (under its title): "Delete this conversation" and the
  // connection status. Added again whenever the widget re-renders without it.
  function chatBar() {
    var bar = document.createElement("div");
    bar.className = "ldn-chat-bar";
    var status = LDN.status.chatElement();
    var box = document.createElement("div");
    box.className = "ldn-delete";
    box.setAttribute("data-place", "chat");
    var ask = document.createElement("button");
    ask.type = "button";
    ask.className = "ldn-delete-ask";
    var svg = LDN.icons.trash();
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
      window.localStorage.removeItem(LDN.SESSION_KEY);
      window.localStorage.removeItem(LDN.VOTES_KEY);
    } catch (e) {
      /* storage disabled: nothing kept here */
    }
  }

  // Second click: delete on the server (the caller's own signed session only), then
  // forget it here and start afresh (a reload: the widget asks for a new session).
  function doDelete(box) {
    var note = box.querySelector(".ldn-delete-note");
    var buttons = box.querySelectorAll("button");
    var sid = LDN.sessionId();
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
        LDN.announce.say("The conversation could not be deleted.");
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
    LDN.announce.say(done);
    LDN.status.setNotice(done);
    LDN.status.set(done);
    if (state === "open") {
      var tries = 0;
      (function reopen() {
        var launcher = root.querySelector(".rw-launcher");
        if (launcher && !root.querySelector(".rw-conversation-container")) {
          LDN.a11y.launcherClicked();
          launcher.click();
        } else if (!launcher && tries++ < 100) {
          window.setTimeout(reopen, 50);
        }
      })();
    }
  }

  // The delete buttons (in the chat window and on the page): ask, confirm or cancel.
  function install() {
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
  }

  LDN.forget = { chatBar: chatBar, install: install, afterDelete: afterDelete };
})();

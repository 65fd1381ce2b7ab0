/* LDN information assistant: what the widget lacks for the keyboard and assistive
 * technology: accessible names, the chat window as a dialog, the keyboard focus when it
 * opens, the page made inert behind a full-screen chat, quick replies as buttons (Enter,
 * Space), Escape to close, the page's "Open the chat" button, and the answers' passage links.
 */
(function () {
  "use strict";

  var LDN = window.LDN;
  var root = LDN.root;
  var setAttr = LDN.setAttr;
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
    if (LDN.openButton) LDN.openButton.textContent = container ? "Go to the chat" : "Open the chat";
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
    if (LDN.page && LDN.page.hasAttribute("inert") !== covers) {
      if (covers) LDN.page.setAttribute("inert", "");
      else LDN.page.removeAttribute("inert");
    }
    if (container) {
      setAttr(container, "role", "dialog");
      setAttr(container, "aria-label", "Chat with the LDN information assistant");
      if (!container.querySelector(".ldn-chat-bar")) {
        var header = container.querySelector(".rw-header-and-loading") || container.querySelector(".rw-header");
        if (header && header.parentNode) header.parentNode.insertBefore(LDN.forget.chatBar(), header.nextSibling);
      }
    }
    var list = root.querySelector("#rw-messages");
    if (list) {
      // A scrollable region must be reachable by keyboard to be scrolled.
      setAttr(list, "tabindex", "0");
      setAttr(list, "aria-label", "Conversation");
    }
    // Quick replies are <div onClick> in the widget: make them buttons for
    // assistive technology and the keyboard (keys handled in install below).
    root.querySelectorAll("div.rw-reply").forEach(function (el) {
      setAttr(el, "role", "button");
      setAttr(el, "tabindex", "0");
    });
  }

  // An answer's "read the passage" link goes to the article page of the server that
  // answered (the page may be served from elsewhere: then cfg.socketUrl names it), in a
  // new tab (the widget's own rendering), and says so.
  function labelPassageLinks(messageEl) {
    messageEl.querySelectorAll(".rw-response a[href^='/article']").forEach(function (a) {
      if (a.hasAttribute("data-ldn-passage")) return;
      a.setAttribute("data-ldn-passage", "");
      if (LDN.cfg.socketUrl) {
        try {
          a.setAttribute("href", new URL(a.getAttribute("href"), LDN.cfg.socketUrl).href);
        } catch (e) {
          /* an unusable socketUrl: the link stays on this page's origin */
        }
      }
      a.setAttribute("aria-label", a.textContent + " in the article (opens in a new tab)");
    });
  }

  function install() {
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
    var openButton = LDN.openButton;
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
  }

  LDN.a11y = {
    labelControls: labelControls,
    labelPassageLinks: labelPassageLinks,
    install: install,

    // The user (or the page for them) clicked the launcher: focus follows the opening chat.
    launcherClicked: function () {
      launcherClickedAt = Date.now();
    },
  };
})();

/* LDN information assistant: small inline SVG icons (24x24, currentColor), built with
 * createElementNS: the thumb of the feedback buttons, the bin of "Delete this
 * conversation", and icons for the emoji the replies start with (domain.yml): without an
 * emoji font they showed as empty boxes.
 */
(function () {
  "use strict";

  var SVG_NS = "http://www.w3.org/2000/svg";
  // Thumb icon (up); the "down" button shows it rotated.
  var THUMB_PATH =
    "M2 21h4V9H2v12zm20-11a2 2 0 0 0-2-2h-6.3l1-4.6v-.3c0-.4-.2-.8-.4-1.1L13.2 1 6.6 7.6C6.2 8 6 8.5 6 9v10a2 2 0 0 0 2 2h9c.8 0 1.5-.5 1.8-1.2l3-7.1c.1-.2.2-.5.2-.7v-2z";
  var TRASH_PATH = "M9 3h6l1 2h4v2H4V5h4l1-2zM6 8h12l-1 13H7L6 8zm4 3v7h1.5v-7H10zm3.5 0v7H15v-7h-1.5z";

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

  function thumb() {
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

  function trash() {
    return icon({ label: "", d: TRASH_PATH, stroke: false });
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

  window.LDN.icons = {
    thumb: thumb,
    trash: trash,

    // A bot message's emoji as icons, once per message.
    iconifyOnce: function (messageEl) {
      if (messageEl.hasAttribute("data-ldn-icons")) return;
      messageEl.setAttribute("data-ldn-icons", "");
      iconify(messageEl);
    },
  };
})();

// Threadline chat loader: <script src="https://support.example.com/widget/loader.js"
//   data-inbox="KEY" [data-lang="pl"] [data-user-id="42" data-user-hash="hex"] async></script>
// It adds one isolated iframe and one global (ThreadlineChat); the chat lives in the frame,
// so the host page's styles and scripts cannot reach it.
(function () {
  "use strict";
  if (window.ThreadlineChat) return;

  var script = document.currentScript;
  if (!script) {
    var candidates = document.querySelectorAll("script[data-inbox][src*='/widget/loader.js']");
    script = candidates[candidates.length - 1];
  }
  if (!script) return;
  var inbox = script.getAttribute("data-inbox");
  if (!inbox) return;
  var origin = new URL(script.src, location.href).origin;
  var closedSize = { width: "80px", height: "80px" };
  var openSize = { width: "380px", height: "600px" };

  var query = new URLSearchParams();
  query.set("inbox", inbox);
  query.set("lang", script.getAttribute("data-lang") || navigator.language || "en");
  query.set("host", location.origin);
  query.set("path", location.pathname);
  var userId = script.getAttribute("data-user-id");
  if (userId) {
    query.set("uid", userId);
    query.set("uhash", script.getAttribute("data-user-hash") || "");
  }

  var frame = document.createElement("iframe");
  frame.id = "threadline-chat-frame";
  frame.title = "Chat";
  frame.src = origin + "/widget/frame?" + query.toString();
  frame.setAttribute("allow", "");
  frame.setAttribute("referrerpolicy", "origin");

  function style(size) {
    var rules = {
      all: "initial",
      position: "fixed",
      right: "12px",
      bottom: "12px",
      width: size.width,
      height: size.height,
      "max-width": "calc(100vw - 24px)",
      "max-height": "calc(100vh - 24px)",
      border: "0",
      margin: "0",
      padding: "0",
      background: "transparent",
      "color-scheme": "normal",
      display: "block",
      visibility: "visible",
      opacity: "1",
      "z-index": "2147483000",
    };
    for (var name in rules) {
      if (Object.prototype.hasOwnProperty.call(rules, name)) {
        // !important, so the host's stylesheets cannot move, hide or resize the chat.
        frame.style.setProperty(name, rules[name], "important");
      }
    }
  }
  style(closedSize);

  function tellFrame(message) {
    if (frame.contentWindow) frame.contentWindow.postMessage(message, origin);
  }

  window.addEventListener("message", function (event) {
    if (event.origin !== origin || event.source !== frame.contentWindow) return;
    var data = event.data || {};
    if (data.type === "threadline:open") style(openSize);
    else if (data.type === "threadline:close") style(closedSize);
  });

  // Single-page sites: tell the frame about new paths so invitations can match them.
  var lastPath = location.pathname;
  setInterval(function () {
    if (location.pathname !== lastPath) {
      lastPath = location.pathname;
      tellFrame({ type: "threadline:page", path: lastPath });
    }
  }, 1000);

  function mount() {
    (document.body || document.documentElement).appendChild(frame);
  }
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);

  window.ThreadlineChat = Object.freeze({
    open: function () {
      tellFrame({ type: "threadline:open" });
    },
    close: function () {
      tellFrame({ type: "threadline:close" });
    },
  });
})();

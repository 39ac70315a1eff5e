// The chat frame. Our own small script: everything a visitor or an agent wrote is put on the
// page with textContent, never as HTML.
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("widget-config").textContent);
  var texts = config.texts;
  var params = new URLSearchParams(location.search);
  var hostOrigin = params.get("host") || "";
  var storageKey = "threadline:visitor:" + config.inbox;
  var MAX_FILE_BYTES = config.max_file_bytes;

  var body = document.body;
  var panel = document.getElementById("panel");
  var launcher = document.querySelector("[data-testid=widget-launcher]");
  var closeButton = document.querySelector("[data-testid=widget-close]");
  var list = document.querySelector("[data-testid=widget-messages]");
  var queueLine = document.querySelector("[data-testid=queue-position]");
  var typingLine = document.querySelector("[data-testid=widget-typing]");
  var offlineLine = document.querySelector("[data-testid=widget-offline]");
  var offlineForm = document.querySelector("[data-testid=offline-form]");
  var notice = document.querySelector("[data-testid=widget-notice]");
  var prechat = document.querySelector("[data-testid=prechat-form]");
  var compose = document.querySelector("[data-testid=widget-compose]");
  var textarea = compose.querySelector("textarea[name=message]");
  var fileInput = compose.querySelector("input[type=file]");

  var state = {
    token: null,
    conversationId: null,
    agentsOnline: 1,
    lastSeq: 0,
    shown: {},
    socket: null,
    retry: 0,
    prechat: null,
    typingTimer: null,
    lastTypingSent: 0,
    askedEmail: false,
    waiting: false,
  };

  document.documentElement.style.setProperty("--primary", config.settings.primary_colour);
  document.documentElement.style.setProperty("--on-primary", config.settings.text_colour);

  function format(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, key) {
      return values[key] === undefined || values[key] === null ? "" : String(values[key]);
    });
  }

  function tell(parentMessage) {
    // Only the page that embedded us, by its origin; never "*".
    if (hostOrigin && window.parent !== window) {
      window.parent.postMessage(parentMessage, hostOrigin);
    }
  }

  function open() {
    panel.hidden = false;
    body.classList.add("open");
    launcher.setAttribute("aria-expanded", "true");
    tell({ type: "threadline:open" });
    textarea.focus();
  }

  function close() {
    panel.hidden = true;
    body.classList.remove("open");
    launcher.setAttribute("aria-expanded", "false");
    tell({ type: "threadline:close" });
  }

  function showNotice(text) {
    notice.textContent = text || "";
    notice.hidden = !text;
  }

  function api(path, options) {
    options = options || {};
    var headers = options.headers || {};
    if (state.token) headers["X-Visitor-Token"] = state.token;
    options.headers = headers;
    return fetch(path, options).then(function (response) {
      return response.json().then(
        function (data) {
          if (!response.ok) {
            var error = new Error((data && data.detail) || response.statusText);
            error.status = response.status;
            throw error;
          }
          return data;
        },
        function () {
          var error = new Error(response.statusText);
          error.status = response.status;
          throw error;
        }
      );
    });
  }

  function postJson(path, payload) {
    return api(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(payload),
    });
  }

  function storedToken() {
    try {
      return window.localStorage.getItem(storageKey);
    } catch (e) {
      return null;
    }
  }

  function storeToken(token) {
    try {
      window.localStorage.setItem(storageKey, token);
    } catch (e) {
      /* private mode: the chat lasts as long as the page */
    }
  }

  function startSession() {
    var payload = { inbox: config.inbox, token: storedToken() };
    if (params.get("uid")) {
      payload.user_id = params.get("uid");
      payload.user_hash = params.get("uhash") || "";
    }
    return postJson("/api/v1/widget/session", payload).then(function (session) {
      state.token = session.token;
      storeToken(session.token);
      state.conversationId = session.conversation_id;
      state.agentsOnline = session.agents_online;
      offlineLine.hidden = session.agents_online > 0;
      prechat.hidden = !(config.settings.prechat_enabled && !session.conversation_id);
      compose.hidden = !prechat.hidden;
      if (session.queue) showQueue(session.queue);
      if (session.conversation_id) connect();
      return session;
    });
  }

  // --- Messages --------------------------------------------------------------------------

  function render(frame) {
    // The server sends each message once per connection; a message shown before a
    // reconnect is not shown twice.
    if (state.shown[frame.id]) return;
    state.shown[frame.id] = true;
    var item = document.createElement("li");
    item.setAttribute("data-testid", "widget-message");
    item.setAttribute("data-direction", frame.direction);
    item.setAttribute("data-seq", String(frame.seq));
    if (frame.direction === "outbound") {
      var author = document.createElement("div");
      author.className = "author";
      var photo = document.createElement("img");
      photo.className = "author-photo";
      photo.alt = "";
      photo.src = (frame.author && frame.author.photo_url) || "/widget/static/avatar.svg";
      photo.addEventListener("error", function () {
        photo.src = "/widget/static/avatar.svg";
      });
      var name = document.createElement("span");
      name.className = "author-name";
      name.textContent = (frame.author && frame.author.name) || texts.agent;
      author.appendChild(photo);
      author.appendChild(name);
      item.appendChild(author);
    }
    if (frame.text) {
      var text = document.createElement("div");
      text.className = "text";
      text.textContent = frame.text;
      item.appendChild(text);
    }
    (frame.attachments || []).forEach(function (file) {
      var link = document.createElement("a");
      link.href =
        "/api/v1/widget/attachments/" +
        encodeURIComponent(file.sha256) +
        "?token=" +
        encodeURIComponent(state.token);
      link.textContent = file.filename || "attachment";
      link.setAttribute("download", file.filename || "attachment");
      link.rel = "noopener";
      item.appendChild(link);
    });
    list.appendChild(item);
    list.scrollTop = list.scrollHeight;
    if (frame.direction === "outbound") {
      typingLine.hidden = true;
      // The socket's queue frame says the visitor no longer waits (an agent answered).
      if (panel.hidden) open();
    }
  }

  function refreshStatus() {
    if (!state.token) return;
    api("/api/v1/widget/status").then(function (status) {
      state.agentsOnline = status.agents_online;
      offlineLine.hidden = status.agents_online > 0;
      if (status.queue) showQueue(status.queue);
    }, function () {});
  }

  // While waiting, the place in the queue moves as others are served.
  setInterval(function () {
    if (state.waiting) refreshStatus();
  }, 30000);

  function showQueue(queue) {
    state.waiting = Boolean(queue.waiting);
    if (queue.waiting && queue.position) {
      // No estimate (too little history of chats, or none worth saying): the place alone.
      var estimated = typeof queue.estimated_wait_seconds === "number";
      queueLine.textContent = format(estimated ? texts.queue : texts.queue_position, {
        position: queue.position,
        minutes: estimated ? Math.max(1, Math.round(queue.estimated_wait_seconds / 60)) : "",
      });
      queueLine.hidden = false;
    } else if (queue.agent && queue.agent.name) {
      queueLine.textContent = format(texts.assigned, { name: queue.agent.name });
      queueLine.hidden = false;
    } else {
      queueLine.hidden = true;
    }
  }

  function showTyping(frame) {
    typingLine.textContent = format(texts.typing, { name: frame.name || texts.agent });
    typingLine.hidden = false;
    clearTimeout(state.typingTimer);
    state.typingTimer = setTimeout(function () {
      typingLine.hidden = true;
    }, 4000);
  }

  // --- The socket ------------------------------------------------------------------------

  function connect() {
    if (state.socket || !state.token) return;
    var scheme = location.protocol === "https:" ? "wss:" : "ws:";
    var url =
      scheme +
      "//" +
      location.host +
      "/api/v1/widget/ws?token=" +
      encodeURIComponent(state.token) +
      "&since=" +
      state.lastSeq;
    var socket = new WebSocket(url);
    state.socket = socket;
    socket.addEventListener("message", function (event) {
      var frame = JSON.parse(event.data);
      if (frame.type === "message") {
        render(frame);
        state.lastSeq = Math.max(state.lastSeq, frame.seq);
      } else if (frame.type === "ready") {
        state.retry = 0;
        state.lastSeq = Math.max(state.lastSeq, frame.seq);
        showNotice("");
      } else if (frame.type === "queue") {
        showQueue(frame);
      } else if (frame.type === "typing") {
        showTyping(frame);
      }
    });
    socket.addEventListener("close", function (event) {
      state.socket = null;
      if (event.code === 4404 || event.code === 1008) return;
      showNotice(texts.reconnecting);
      var delay = Math.min(10000, 500 * Math.pow(2, state.retry++));
      setTimeout(connect, delay);
    });
  }

  // --- Sending ---------------------------------------------------------------------------

  function failed(error) {
    showNotice(error && error.status === 429 ? texts.rate_limited : texts.error);
  }

  function send(text) {
    var payload = { text: text };
    if (state.prechat) {
      if (state.prechat.name) payload.name = state.prechat.name;
      if (state.prechat.email) payload.email = state.prechat.email;
      state.prechat = null;
    }
    return postJson("/api/v1/widget/messages", payload).then(function (result) {
      showNotice("");
      var first = state.conversationId !== result.conversation_id;
      state.conversationId = result.conversation_id;
      connect();
      if (first) refreshStatus();
      if (state.agentsOnline === 0 && !state.askedEmail) {
        state.askedEmail = true;
        offlineForm.hidden = false;
      }
      return result;
    }, failed);
  }

  compose.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = textarea.value.trim();
    if (!text) return;
    textarea.value = "";
    send(text);
  });

  textarea.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      compose.requestSubmit();
    }
  });

  textarea.addEventListener("input", function () {
    var now = Date.now();
    if (state.socket && state.socket.readyState === 1 && now - state.lastTypingSent > 2000) {
      state.lastTypingSent = now;
      state.socket.send(JSON.stringify({ type: "typing" }));
    }
  });

  fileInput.addEventListener("change", function () {
    var file = fileInput.files && fileInput.files[0];
    fileInput.value = "";
    if (!file) return;
    if (file.size > MAX_FILE_BYTES) {
      showNotice(texts.file_too_large);
      return;
    }
    api("/api/v1/widget/attachments?filename=" + encodeURIComponent(file.name), {
      method: "POST",
      headers: { "Content-Type": file.type || "application/octet-stream" },
      body: file,
    }).then(function (result) {
      showNotice("");
      state.conversationId = result.conversation_id;
      connect();
    }, function (error) {
      showNotice(error && error.status === 413 ? texts.file_too_large : texts.error);
    });
  });

  prechat.addEventListener("submit", function (event) {
    event.preventDefault();
    var data = new FormData(prechat);
    state.prechat = {
      name: String(data.get("name") || "").trim(),
      email: String(data.get("email") || "").trim(),
    };
    prechat.hidden = true;
    compose.hidden = false;
    textarea.focus();
  });

  offlineForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var email = String(new FormData(offlineForm).get("offline_email") || "").trim();
    postJson("/api/v1/widget/email", { email: email, offline: true }).then(function (result) {
      offlineForm.hidden = true;
      showNotice("");
      var item = document.createElement("li");
      item.className = "system";
      item.textContent = result.email.replies_by_email
        ? format(texts.email_saved, { email: result.email.address })
        : texts.email_unverified;
      list.appendChild(item);
    }, failed);
  });

  launcher.addEventListener("click", open);
  closeButton.addEventListener("click", close);

  // --- Proactive invitations ------------------------------------------------------------

  function invite(path) {
    fetch(
      "/api/v1/widget/invitation?inbox=" +
        encodeURIComponent(config.inbox) +
        "&path=" +
        encodeURIComponent(path)
    )
      .then(function (response) {
        return response.ok ? response.json() : { invitation: null };
      })
      .then(function (data) {
        var rule = data.invitation;
        if (!rule) return;
        setTimeout(function () {
          if (!panel.hidden || list.children.length) return;
          var item = document.createElement("li");
          item.className = "invitation";
          item.setAttribute("data-testid", "widget-invitation");
          item.textContent = rule.message;
          list.appendChild(item);
          open();
        }, rule.seconds_on_page * 1000);
      });
  }

  window.addEventListener("message", function (event) {
    // The host page tells us where it is (and may ask us to open); nobody else is heard.
    if (!hostOrigin || event.origin !== hostOrigin || event.source !== window.parent) return;
    var data = event.data || {};
    if (data.type === "threadline:open") open();
    else if (data.type === "threadline:close") close();
    else if (data.type === "threadline:page" && typeof data.path === "string") invite(data.path);
  });

  startSession().then(function () {
    if (params.get("path")) invite(params.get("path"));
  }, function () {
    showNotice(texts.error);
  });
})();

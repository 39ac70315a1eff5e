// Threadline agent workspace: live updates and the forms of the conversation page.
// Plain JavaScript, no dependencies. User data only ever reaches the DOM through
// textContent or through HTML the server rendered and escaped (Jinja2 autoescape).
"use strict";

(function () {
  const csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  const i18nNode = document.getElementById("i18n");
  const i18n = i18nNode ? JSON.parse(i18nNode.textContent) : {};
  const body = document.body;
  const signedIn = body.hasAttribute("data-agent-id");

  // REST API calls with the session cookie; the CSRF header makes them count.
  async function api(method, path, payload) {
    const options = {
      method: method,
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf, Accept: "application/json" },
    };
    if (payload !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(payload);
    }
    const response = await fetch(path, options);
    let data = null;
    try {
      data = await response.json();
    } catch (e) {
      data = null;
    }
    return { ok: response.ok, status: response.status, data: data };
  }

  function problemText(result) {
    const d = result.data || {};
    return (i18n.failed || "") + " " + (d.detail || d.title || String(result.status));
  }

  // Said to screen readers (the page's live region) and, for a form, next to its button.
  function announce(text) {
    const live = document.getElementById("live-status");
    if (live) live.textContent = text;
  }

  function say(form, text) {
    const status = form.querySelector(".form-status");
    if (status) status.textContent = text;
    announce(text);
  }

  // Swap parts of the page for the server's fresh rendering of the same URL. The HTML is
  // ours (escaped by the templates); nothing from an event payload is inserted as markup.
  // Selectors asked for within one burst of events are refreshed together, with one fetch.
  let refreshTimer = null;
  const pendingParts = new Set();
  function refreshParts(selectors) {
    selectors.forEach(function (selector) {
      pendingParts.add(selector);
    });
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(async function () {
      const wanted = Array.from(pendingParts);
      pendingParts.clear();
      const response = await fetch(location.href, { credentials: "same-origin" });
      if (!response.ok) return;
      const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
      // The conversation's status is an attribute of the page's root node: kept in step too.
      const freshConversation = fresh.querySelector("[data-testid=conversation]");
      if (conversationNode && freshConversation) {
        conversationNode.setAttribute(
          "data-conversation-status",
          freshConversation.getAttribute("data-conversation-status")
        );
      }
      wanted.forEach(function (selector) {
        const current = document.querySelector(selector);
        const next = fresh.querySelector(selector);
        if (!current || !next) return;
        // The page shows the newest messages; those before them that are on screen (loaded
        // with "load earlier", or pushed out of the newest page by new ones) stay.
        const kept = selector === "#timeline" ? olderEntries(current, next) : [];
        current.replaceChildren.apply(
          current,
          kept.concat(
            Array.from(next.childNodes).map(function (n) {
              return document.importNode(n, true);
            })
          )
        );
        Array.from(next.attributes).forEach(function (a) {
          if (a.name.startsWith("data-")) current.setAttribute(a.name, a.value);
        });
      });
    }, 80);
  }

  function entryIds(list) {
    return new Set(
      Array.from(list.querySelectorAll("[data-message-id]")).map(function (n) {
        return n.getAttribute("data-message-id");
      })
    );
  }

  // The entries of `current` before the first one the fresh rendering `next` also has.
  function olderEntries(current, next) {
    const fresh = entryIds(next);
    const older = [];
    for (const node of Array.from(current.children)) {
      if (fresh.has(node.getAttribute("data-message-id"))) break;
      older.push(node);
    }
    return older;
  }

  // "Load earlier messages" is a link to the page before (it works without this script); here
  // the earlier entries are put above the ones shown instead, and the link moves on.
  const loadEarlier = document.getElementById("load-earlier");
  if (loadEarlier) {
    loadEarlier.addEventListener("click", async function (event) {
      event.preventDefault();
      const response = await fetch(loadEarlier.href, { credentials: "same-origin" });
      if (!response.ok) {
        location.href = loadEarlier.href;
        return;
      }
      const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
      const timeline = document.getElementById("timeline");
      const earlier = fresh.getElementById("timeline");
      if (!timeline || !earlier) return;
      const shown = entryIds(timeline);
      const entries = Array.from(earlier.children).filter(function (n) {
        return !shown.has(n.getAttribute("data-message-id"));
      });
      timeline.prepend.apply(
        timeline,
        entries.map(function (n) {
          return document.importNode(n, true);
        })
      );
      const further = fresh.getElementById("load-earlier");
      if (further) {
        loadEarlier.href = further.getAttribute("href");
      } else {
        document.getElementById("load-earlier-row").remove();
      }
      announce(i18n.loaded_earlier || "");
    });
  }

  // Presence ------------------------------------------------------------------------------
  const presence = document.querySelector("[data-testid=presence]");
  if (presence) {
    presence.addEventListener("change", async function () {
      const result = await api("POST", "/api/v1/agents/me/presence", { presence: presence.value });
      if (result.ok) {
        presence.setAttribute("data-current", presence.value);
        announce(i18n.presence_saved || "");
      } else {
        presence.value = presence.getAttribute("data-current");
        announce(problemText(result));
      }
    });
  }

  // Notifications: the box shows once they are loaded -------------------------------------------
  async function loadNotifications() {
    const box = document.getElementById("notifications");
    if (!box || !signedIn) return;
    const result = await api("GET", "/api/v1/notifications");
    if (!result.ok || !result.data) return;
    const items = result.data.notifications || [];
    const list = document.getElementById("notification-list");
    list.replaceChildren();
    items.slice(0, 20).forEach(function (n) {
      const li = document.createElement("li");
      const text = n.excerpt || n.kind || "";
      if (!n.read_at) li.className = "unread";
      if (n.conversation_id) {
        const a = document.createElement("a");
        a.href = "/app/conversations/" + encodeURIComponent(n.conversation_id);
        a.textContent = text;
        li.appendChild(a);
      } else {
        li.textContent = text;
      }
      list.appendChild(li);
    });
    const unread = result.data.unread || 0;
    document.getElementById("notification-count").textContent = unread ? "(" + unread + ")" : "";
    box.hidden = false;
  }

  // New contact pop-up ------------------------------------------------------------------------
  const newCustomers = new Map();
  function popNewContact(conversationId, name) {
    const template = document.getElementById("new-contact-template");
    const host = document.getElementById("popups");
    if (!template || !host) return;
    const popup = template.content.firstElementChild.cloneNode(true);
    popup.querySelector(".popup-name").textContent = name || i18n.unknown_customer || "";
    const link = popup.querySelector(".popup-link");
    link.href = "/app/conversations/" + encodeURIComponent(conversationId);
    popup.setAttribute("data-conversation-id", String(conversationId));
    popup.querySelector(".popup-close").addEventListener("click", function () {
      popup.remove();
    });
    host.appendChild(popup);
    while (host.children.length > 4) host.firstElementChild.remove();
  }

  // Live events -------------------------------------------------------------------------------
  const page = document.querySelector("[data-page]");
  const pageKind = page ? page.getAttribute("data-page") : "";
  const conversationNode = document.querySelector("[data-testid=conversation]");
  const conversationId = conversationNode
    ? Number(conversationNode.getAttribute("data-conversation-id"))
    : null;
  const customerId = conversationNode
    ? Number(conversationNode.getAttribute("data-customer-id"))
    : null;
  const typingNode = document.getElementById("typing-indicator");
  let typingTimer = null;

  function showTyping(frame) {
    if (!typingNode || frame.conversation_id !== conversationId) return;
    if (frame.who === "agent") {
      // A colleague writing a reply to the same customer: said so, so that two answers do
      // not cross (the server does not send an agent their own notices).
      if (!frame.name) return;
      typingNode.textContent = (i18n.agent_typing || "{name}").replace("{name}", frame.name);
    } else if (frame.who === "customer") {
      typingNode.textContent = frame.name
        ? (i18n.typing || "{name}").replace("{name}", frame.name)
        : i18n.customer_typing || "";
    } else {
      return;
    }
    typingNode.hidden = false;
    clearTimeout(typingTimer);
    typingTimer = setTimeout(function () {
      typingNode.hidden = true;
    }, 6000);
  }

  // The customers an event is about: customer events carry the customer (a merge, both), the
  // others the offer, order, CSAT answer or note, with its customer_id.
  function customersOf(kind, payload) {
    if (kind === "customer.merged") {
      return [(payload.source || {}).id, (payload.target || {}).id];
    }
    if (kind.startsWith("customer.")) return [payload.id];
    const subject = payload.offer || payload.order || payload.csat || payload.note || {};
    return [subject.customer_id];
  }

  function onEvent(frame) {
    const kind = frame.event;
    const payload = frame.payload || {};
    if (kind === "customer.created" && payload.id) {
      newCustomers.set(payload.id, payload.name || "");
    }
    if (kind === "conversation.created") {
      // Every new contact, from a new customer or a known one, pops up with a link to the
      // conversation, whose page opens with the customer card and the whole history.
      const convo = payload.conversation || payload;
      const customerId = convo.customer_id;
      if (customerId && newCustomers.has(customerId)) {
        popNewContact(frame.conversation_id, newCustomers.get(customerId));
        newCustomers.delete(customerId);
      } else if (customerId) {
        api("GET", "/api/v1/customers/" + encodeURIComponent(customerId)).then(function (result) {
          const known = result.ok && result.data && result.data.customer;
          popNewContact(frame.conversation_id, known ? known.name : "");
        });
      }
    }
    if (pageKind === "list" && /^(conversation|message)\./.test(kind)) {
      refreshParts(["#conversation-rows"]);
    }
    if (pageKind === "tasks" && /^task\./.test(kind)) refreshParts(["#task-rows"]);
    if (pageKind === "queue" && /^(conversation|assignment|agent)\./.test(kind)) {
      refreshParts(["#queue-rows", "#agent-rows"]);
    }
    if (pageKind === "conversation" && frame.conversation_id === conversationId) {
      if (kind === "message.created" && typingNode) typingNode.hidden = true;
      refreshParts(["#timeline", "#conversation-status", "#conversation-assignee"]);
    }
    if (
      pageKind === "conversation" &&
      /^(offer|order|customer|csat|note)\./.test(kind) &&
      customersOf(kind, payload).includes(customerId)
    ) {
      // Only this customer's changes: another customer's cannot change this card.
      refreshParts(["[data-testid=customer-card]"]);
    }
    if (kind === "agent.mentioned") loadNotifications();
  }

  const SEQ_KEY = "threadline.seq";
  let backoff = 500;
  function connect() {
    if (!signedIn || !("WebSocket" in window)) return;
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const since = sessionStorage.getItem(SEQ_KEY);
    const url =
      scheme + "//" + location.host + "/api/v1/events/ws" + (since ? "?since=" + encodeURIComponent(since) : "");
    const socket = new WebSocket(url);
    socket.addEventListener("message", function (message) {
      let frame;
      try {
        frame = JSON.parse(message.data);
      } catch (e) {
        return;
      }
      if (frame.type === "ready") {
        backoff = 500;
        body.setAttribute("data-live", "ready");
        sessionStorage.setItem(SEQ_KEY, String(frame.seq));
      } else if (frame.type === "event") {
        sessionStorage.setItem(SEQ_KEY, String(frame.seq));
        onEvent(frame);
      } else if (frame.type === "typing") {
        showTyping(frame);
      }
    });
    socket.addEventListener("close", function (event) {
      body.setAttribute("data-live", "closed");
      if (event.code === 1008) return; // signed out or expired: the next page load signs in
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 15000);
    });
  }

  // The conversation page's forms -------------------------------------------------------------
  function onSubmit(id, handler) {
    const form = document.getElementById(id);
    if (!form) return;
    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      const button = form.querySelector("button[type=submit]");
      if (button) button.disabled = true;
      try {
        await handler(form);
      } finally {
        if (button) button.disabled = false;
      }
    });
  }

  const base = conversationId ? "/api/v1/conversations/" + conversationId : "";
  const channelSelect = document.getElementById("reply-channel");
  const replyText = document.getElementById("reply-text");

  function selectedChannel() {
    return channelSelect ? channelSelect.options[channelSelect.selectedIndex] : null;
  }

  function showChannelRule() {
    const option = selectedChannel();
    const rule = document.getElementById("channel-rule");
    if (!rule) return;
    rule.textContent = option ? option.getAttribute("data-reason") || "" : "";
    const textAllowed = !option || option.getAttribute("data-text-allowed") === "true";
    // Outside a messaging window an approved template goes instead of free text.
    if (replyText) replyText.required = textAllowed;
    document.querySelectorAll(".template-picker").forEach(function (picker) {
      picker.hidden = textAllowed || !option || picker.getAttribute("data-channel") !== option.value;
    });
  }

  if (channelSelect) {
    const preferred = document.getElementById("reply-form").getAttribute("data-default-channel");
    if (preferred) channelSelect.value = preferred;
    channelSelect.addEventListener("change", showChannelRule);
    showChannelRule();
  }

  onSubmit("reply-form", async function (form) {
    const option = selectedChannel();
    const payload = { text: replyText.value };
    if (option) {
      payload.channel = option.value;
      if (option.getAttribute("data-inbox-id")) payload.inbox_id = Number(option.getAttribute("data-inbox-id"));
      if (option.getAttribute("data-text-allowed") !== "true") {
        const box = document.querySelector('.template-picker[data-channel="' + option.value + '"]');
        const picker = box ? box.querySelector("select") : null;
        if (picker && picker.value) {
          const chosen = picker.options[picker.selectedIndex];
          const values = box.querySelector("input[name=template_parameters]").value;
          payload.template = {
            name: picker.value,
            // A template approved without a language is approved in every language.
            language: chosen.getAttribute("data-language") || document.documentElement.lang,
            parameters: values ? values.split("|").map(function (v) { return v.trim(); }) : [],
          };
          if (!payload.text) payload.text = picker.value;
        }
      }
    }
    const result = await api("POST", base + "/replies", payload);
    if (result.ok) {
      replyText.value = "";
      say(form, i18n.sent || "");
      refreshParts(["#timeline"]);
    } else {
      say(form, problemText(result));
    }
  });

  onSubmit("note-form", async function (form) {
    const text = form.querySelector("textarea[name=text]");
    const result = await api("POST", base + "/notes", { text: text.value });
    if (result.ok) {
      text.value = "";
      say(form, i18n.saved || "");
      refreshParts(["#timeline"]);
    } else {
      say(form, problemText(result));
    }
  });

  onSubmit("transfer-form", async function (form) {
    const agent = form.querySelector("select[name=assignee_id]").value;
    const team = form.querySelector("select[name=team_id]").value;
    const note = form.querySelector("input[name=note]").value;
    if (!agent && !team) return;
    // The routing API's transfer: one target (the agent, if one is chosen), with a note.
    const target = agent ? { agent_id: Number(agent) } : { team_id: Number(team) };
    const result = await api("POST", base + "/transfer", Object.assign({ note: note }, target));
    say(form, result.ok ? i18n.transferred || "" : problemText(result));
    if (result.ok) refreshParts(["#conversation-assignee", "#timeline"]);
  });

  onSubmit("wrap-up-form", async function (form) {
    const payload = {
      code: form.querySelector("select[name=code]").value,
      summary: form.querySelector("textarea[name=summary]").value,
    };
    const due = form.querySelector("input[name=follow_up_due]").value;
    if (due) {
      payload.follow_up = {
        due_at: new Date(due).toISOString(),
        note: form.querySelector("input[name=follow_up_note]").value || payload.summary,
      };
      payload.follow_up.assignee = form.querySelector("select[name=follow_up_assignee]").value;
      const channel = form.querySelector("select[name=follow_up_channel]").value;
      if (channel) payload.follow_up.channel = channel;
    }
    const result = await api("POST", base + "/wrap-up", payload);
    if (result.ok) {
      say(form, i18n.resolved || "");
      refreshParts(["#conversation-status", "#timeline", "[data-testid=conversation-tasks]"]);
    } else {
      say(form, problemText(result));
    }
  });

  // Typing: a transient signal, at most every two seconds. Colleagues on this conversation see
  // it whatever the channel; the customer's chat widget only for a web-chat reply. ------------
  let lastTyping = 0;
  if (replyText && conversationId) {
    replyText.addEventListener("input", function () {
      const option = selectedChannel();
      const now = Date.now();
      if (now - lastTyping < 2000) return;
      lastTyping = now;
      api("POST", "/app/conversations/" + conversationId + "/typing", {
        channel: option ? option.value : null,
      });
    });
  }

  // Canned responses: typing /shortcut offers them ------------------------------------------
  const cannedList = document.getElementById("canned-list");
  let cannedTimer = null;

  function cannedToken() {
    const upto = replyText.value.slice(0, replyText.selectionStart);
    const match = /(^|\s)\/([\w-]*)$/.exec(upto);
    return match ? { query: match[2], start: upto.length - match[2].length - 1 } : null;
  }

  async function offerCanned() {
    const token = cannedToken();
    if (!token) {
      cannedList.hidden = true;
      return;
    }
    const result = await api("GET", "/api/v1/canned-responses?q=" + encodeURIComponent(token.query));
    if (!result.ok) return;
    const items = result.data || [];
    cannedList.replaceChildren();
    if (!items.length) {
      const li = document.createElement("li");
      li.textContent = i18n.canned_none || "";
      cannedList.appendChild(li);
    }
    items.slice(0, 8).forEach(function (item) {
      const li = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.setAttribute("data-testid", "canned-option");
      button.textContent = "/" + item.shortcut + " — " + item.title;
      button.addEventListener("click", async function () {
        const rendered = await api("POST", base + "/canned-responses/" + encodeURIComponent(item.id) + "/render");
        const text = rendered.ok && rendered.data ? rendered.data.text || "" : "";
        const current = cannedToken();
        const start = current ? current.start : replyText.value.length;
        replyText.value = replyText.value.slice(0, start) + text + replyText.value.slice(replyText.selectionStart);
        cannedList.hidden = true;
        replyText.focus();
      });
      li.appendChild(button);
      cannedList.appendChild(li);
    });
    cannedList.hidden = false;
  }

  if (replyText && cannedList) {
    replyText.addEventListener("input", function () {
      clearTimeout(cannedTimer);
      cannedTimer = setTimeout(offerCanned, 150);
    });
    replyText.addEventListener("keydown", function (event) {
      if (event.key === "Escape") cannedList.hidden = true;
      if (event.key === "ArrowDown" && !cannedList.hidden) {
        const first = cannedList.querySelector("button");
        if (first) {
          event.preventDefault();
          first.focus();
        }
      }
    });
  }

  // Suggested replies are rendered by the server; a click puts one into the reply box.
  document.addEventListener("click", function (event) {
    const button = event.target.closest ? event.target.closest(".use-suggestion") : null;
    if (!button || !replyText) return;
    const text = button.getAttribute("data-text") || "";
    replyText.value = replyText.value ? replyText.value + "\n" + text : text;
    replyText.focus();
  });

  // Tasks: mark one done.
  document.addEventListener("click", async function (event) {
    const button = event.target.closest ? event.target.closest(".complete-task") : null;
    if (!button) return;
    button.disabled = true;
    const id = button.getAttribute("data-task-id");
    const result = await api("PATCH", "/api/v1/tasks/" + encodeURIComponent(id), { status: "done" });
    if (result.ok) {
      const row = button.closest("tr");
      if (row) row.remove();
      announce(i18n.task_done || "");
    } else {
      button.disabled = false;
      announce(problemText(result));
    }
  });

  connect();
  loadNotifications();
})();

/*
 * Resident chat widget. A host page needs one line:
 *   <script src="https://<web app>/static/widget.js" defer></script>   (data-open="true" opens it at once)
 * The web app mints the conversation id (kept in its cookie) and a short-lived token for Rasa's socket;
 * this script never chooses or sends a conversation id. User and bot text is only ever put into the
 * page with textContent / text nodes (never innerHTML), so no message can inject markup.
 */
(function () {
  "use strict";
  if (window.__qhdWidgetLoaded) { return; }
  window.__qhdWidgetLoaded = true;

  var script = document.currentScript;
  var base = new URL(script ? script.src : "/static/widget.js", window.location.href);
  var origin = base.origin;
  var autoOpen = script && script.getAttribute("data-open") === "true";
  var TYPING_TIMEOUT_MS = 20000;
  var MAX_CHARS = 500;

  var T = {
    launcher: "在线咨询",
    title: "在线咨询 · 救助就业服务",
    large: "大字",
    largeOn: "大字模式已打开",
    largeOff: "大字模式已关闭",
    close: "关闭咨询窗口",
    connecting: "正在连接…",
    online: "在线",
    offline: "已断开",
    offlineBanner: "网络断开了，正在重新连接。连上之前消息发不出去，您输入的内容不会丢。",
    notSent: "网络还没连上，这条消息没有发出去。请稍后再点「发送」。",
    operatorMode: "人工客服正在为您服务",
    typing: "助手正在输入",
    inputLabel: "输入您的问题",
    placeholder: "请输入您的问题，按回车发送",
    send: "发送",
    you: "您",
    bot: "智能助手",
    operator: "人工客服",
    says: "说：",
    replies: "快捷回复",
    log: "对话记录",
    tooLong: "每条消息不超过" + MAX_CHARS + "字，请分几次发送。",
    welcome: "您好！可以直接输入您的问题，比如「低保标准是多少」「我家能不能办低保」「帮我登记求助」。"
  };

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  // Text with web links made clickable. Only http(s) links become anchors; everything is a text node.
  var LINK_RE = /(https?:\/\/[^\s，。；、！？）)】>"']+)/g;
  function renderText(container, text) {
    var parts = String(text).split(LINK_RE);
    for (var i = 0; i < parts.length; i++) {
      if (!parts[i]) { continue; }
      if (i % 2 === 1 && /^https?:\/\//.test(parts[i])) {
        var a = el("a", "qhdw-link", parts[i]);
        a.href = parts[i];
        a.target = "_blank";
        a.rel = "noopener noreferrer";
        container.appendChild(a);
      } else {
        container.appendChild(document.createTextNode(parts[i]));
      }
    }
  }

  function formatTime(date) {
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    var hm = pad(date.getHours()) + ":" + pad(date.getMinutes());
    var now = new Date();
    if (date.toDateString() === now.toDateString()) { return hm; }
    return (date.getMonth() + 1) + "月" + date.getDate() + "日 " + hm;
  }

  function loadCss() {
    var link = document.createElement("link");
    link.rel = "stylesheet";
    link.href = origin + "/static/widget.css";
    document.head.appendChild(link);
  }

  function loadSocketIo(done) {
    if (window.io) { done(); return; }
    var s = document.createElement("script");
    s.src = origin + "/static/vendor/socket.io.min.js";
    s.onload = done;
    s.onerror = function () { ui.setStatus("offline"); };
    document.head.appendChild(s);
  }

  // ---------------------------------------------------------------- UI
  var ui = {};
  function buildUi() {
    var root = el("div", "qhdw-root");
    root.id = "qhdw";
    root.setAttribute("lang", "zh-CN");

    var launcher = el("button", "qhdw-launcher", T.launcher);
    launcher.type = "button";
    launcher.setAttribute("aria-expanded", "false");
    launcher.setAttribute("aria-controls", "qhdw-panel");

    var panel = el("section", "qhdw-panel");
    panel.id = "qhdw-panel";
    panel.setAttribute("role", "dialog");
    panel.setAttribute("aria-labelledby", "qhdw-title");
    panel.hidden = true;

    var head = el("div", "qhdw-head");
    var title = el("h2", "qhdw-title", T.title);
    title.id = "qhdw-title";
    var status = el("span", "qhdw-status", T.connecting);
    status.setAttribute("role", "status");
    var large = el("button", "qhdw-large", T.large);
    large.type = "button";
    large.setAttribute("aria-pressed", "false");
    var close = el("button", "qhdw-close", "×");
    close.type = "button";
    close.setAttribute("aria-label", T.close);
    head.appendChild(title);
    head.appendChild(status);
    head.appendChild(large);
    head.appendChild(close);

    var offline = el("div", "qhdw-offline", T.offlineBanner);
    offline.setAttribute("role", "alert");
    offline.hidden = true;
    var mode = el("div", "qhdw-mode", T.operatorMode);
    mode.hidden = true;

    var log = el("ol", "qhdw-log");
    log.setAttribute("role", "log");
    log.setAttribute("aria-label", T.log);
    log.tabIndex = 0;

    var typing = el("div", "qhdw-typing");
    typing.setAttribute("aria-live", "polite");
    var replies = el("div", "qhdw-replies");
    replies.setAttribute("role", "group");
    replies.setAttribute("aria-label", T.replies);

    var form = el("form", "qhdw-form");
    form.noValidate = true;
    var label = el("label", "qhdw-label", T.inputLabel);
    label.htmlFor = "qhdw-input";
    var input = el("textarea", "qhdw-input");
    input.id = "qhdw-input";
    input.rows = 2;
    input.placeholder = T.placeholder;
    input.setAttribute("aria-describedby", "qhdw-hint");
    var hint = el("p", "qhdw-hint");
    hint.id = "qhdw-hint";
    hint.setAttribute("aria-live", "assertive");
    var send = el("button", "qhdw-send", T.send);
    send.type = "submit";
    var row = el("div", "qhdw-row");
    row.appendChild(input);
    row.appendChild(send);
    form.appendChild(label);
    form.appendChild(row);
    form.appendChild(hint);

    panel.appendChild(head);
    panel.appendChild(offline);
    panel.appendChild(mode);
    panel.appendChild(log);
    panel.appendChild(typing);
    panel.appendChild(replies);
    panel.appendChild(form);
    root.appendChild(launcher);
    root.appendChild(panel);
    document.body.appendChild(root);

    ui = {root: root, launcher: launcher, panel: panel, status: status, large: large, close: close,
          offline: offline, mode: mode, log: log, typing: typing, replies: replies, form: form,
          input: input, hint: hint, send: send};

    ui.setStatus = function (state) {
      ui.status.textContent = T[state];
      ui.status.className = "qhdw-status qhdw-st-" + state;
      ui.offline.hidden = state !== "offline";
    };
    ui.setLarge = function (on, announce) {
      ui.root.classList.toggle("qhdw-large-mode", on);
      ui.large.setAttribute("aria-pressed", on ? "true" : "false");
      try { window.localStorage.setItem("qhdw-large", on ? "1" : "0"); } catch (e) { /* private mode */ }
      if (announce) { ui.hint.textContent = on ? T.largeOn : T.largeOff; }
    };
    ui.open = function () {
      ui.panel.hidden = false;
      ui.launcher.hidden = true;
      ui.launcher.setAttribute("aria-expanded", "true");
      ui.input.focus();
    };
    ui.closePanel = function () {
      ui.panel.hidden = true;
      ui.launcher.hidden = false;
      ui.launcher.setAttribute("aria-expanded", "false");
      ui.launcher.focus();
    };

    launcher.addEventListener("click", ui.open);
    close.addEventListener("click", ui.closePanel);
    panel.addEventListener("keydown", function (e) { if (e.key === "Escape") { ui.closePanel(); } });
    large.addEventListener("click", function () {
      ui.setLarge(large.getAttribute("aria-pressed") !== "true", true);
    });
    var stored = null;
    try { stored = window.localStorage.getItem("qhdw-large"); } catch (e) { stored = null; }
    ui.setLarge(stored === "1", false);
  }

  function scrollToEnd() { ui.log.scrollTop = ui.log.scrollHeight; }

  function addMessage(role, text, when, buttons) {
    var item = el("li", "qhdw-msg qhdw-from-" + role);
    var who = role === "user" ? T.you : (role === "operator" ? T.operator : T.bot);
    var sender = el("span", "qhdw-who", who);
    var sr = el("span", "qhdw-sr", T.says);
    sender.appendChild(sr);
    var bubble = el("div", "qhdw-bubble");
    renderText(bubble, text);
    var date = when ? new Date(when) : new Date();
    var time = el("time", "qhdw-time", formatTime(date));
    time.dateTime = date.toISOString();
    item.appendChild(sender);
    item.appendChild(bubble);
    item.appendChild(time);
    ui.log.appendChild(item);
    setReplies(role === "user" ? [] : (buttons || []));
    scrollToEnd();
  }

  function setReplies(buttons) {
    while (ui.replies.firstChild) { ui.replies.removeChild(ui.replies.firstChild); }
    buttons.forEach(function (b) {
      var btn = el("button", "qhdw-reply", b.title);
      btn.type = "button";
      btn.addEventListener("click", function () { sendText(b.payload || b.title, b.title); });
      ui.replies.appendChild(btn);
    });
  }

  var typingTimer = null;
  function showTyping(on) {
    clearTimeout(typingTimer);
    ui.typing.textContent = on ? T.typing : "";
    ui.typing.classList.toggle("qhdw-on", on);
    if (on) { typingTimer = setTimeout(function () { showTyping(false); }, TYPING_TIMEOUT_MS); }
  }

  function setMode(mode) { ui.mode.hidden = mode !== "operator"; operatorMode = mode === "operator"; }

  // ---------------------------------------------------------------- connection
  var socket = null;
  var connected = false;
  var operatorMode = false;

  function getJson(path) {
    return fetch(origin + path, {credentials: "include", cache: "no-store"}).then(function (r) {
      if (!r.ok) { throw new Error("HTTP " + r.status); }
      return r.json();
    });
  }

  function loadHistory() {
    return getJson("/widget/history").then(function (data) {
      while (ui.log.firstChild) { ui.log.removeChild(ui.log.firstChild); }
      var messages = data.messages || [];
      if (!messages.length) { addMessage("bot", T.welcome, null, []); }
      messages.forEach(function (m) { addMessage(m.role, m.text, m.time, m.buttons); });
      var last = messages[messages.length - 1];
      setReplies(last && last.role !== "user" ? (last.buttons || []) : []);
      setMode(data.state);
    }).catch(function () { /* keep what is on screen; the next reconnect retries */ });
  }

  function sendText(payload, shown) {
    ui.hint.textContent = "";
    if (!connected) { ui.hint.textContent = T.notSent; return false; }
    socket.emit("user_uttered", {message: payload});
    addMessage("user", shown || payload, null, []);
    if (!operatorMode) { showTyping(true); }
    return true;
  }

  function connect() {
    getJson("/widget/session").then(function (info) {
      var firstToken = info.token;
      socket = window.io(origin, {  // the web app forwards it to Rasa (bot/web/rasa_proxy.py)
        path: info.socket_path || "/socket.io",
        transports: ["websocket"],
        reconnectionDelayMax: 10000,
        auth: function (cb) {
          if (firstToken) { var t = firstToken; firstToken = null; cb({token: t}); return; }
          getJson("/widget/session").then(function (i) { cb({token: i.token}); }, function () { cb({}); });
        }
      });
      socket.on("connect", function () {
        connected = true;
        ui.setStatus("online");
        socket.emit("session_request", {});
        loadHistory();
      });
      socket.on("disconnect", function () { connected = false; ui.setStatus("offline"); showTyping(false); });
      socket.on("connect_error", function () {
        connected = false;
        ui.setStatus("offline");
        if (!socket.active) { setTimeout(function () { socket.connect(); }, 3000); }
      });
      socket.on("bot_uttered", function (msg) {
        if (!msg || typeof msg !== "object") { return; }
        showTyping(false);
        if (msg.mode) { setMode(msg.mode); }
        var text = msg.text || (msg.attachment ? "[附件]" : "");
        if (!text) { return; }
        addMessage(msg.operator ? "operator" : "bot", text, null, msg.quick_replies || msg.buttons || []);
      });
    }).catch(function () {
      ui.setStatus("offline");
      setTimeout(connect, 5000);
    });
  }

  function wireForm() {
    ui.form.addEventListener("submit", function (e) {
      e.preventDefault();
      var text = ui.input.value.trim();
      if (!text) { ui.input.focus(); return; }
      if (text.length > MAX_CHARS) { ui.hint.textContent = T.tooLong; return; }
      if (sendText(text)) { ui.input.value = ""; }
      ui.input.focus();
    });
    ui.input.addEventListener("keydown", function (e) {
      // Enter sends; Shift+Enter is a new line; Enter while an IME is composing (pinyin) is not a send.
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
        e.preventDefault();
        ui.form.requestSubmit ? ui.form.requestSubmit() : ui.send.click();
      }
    });
  }

  function start() {
    loadCss();
    buildUi();
    wireForm();
    ui.setStatus("connecting");
    addMessage("bot", T.welcome, null, []);  // replaced by the history once connected
    if (autoOpen) { ui.panel.hidden = false; ui.launcher.hidden = true; ui.launcher.setAttribute("aria-expanded", "true"); }
    loadSocketIo(connect);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();

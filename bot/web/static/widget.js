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
    nextStep: "下一步：",
    details: "查看依据和说明",
    speak: "朗读",
    stopSpeaking: "停止朗读",
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

  // An answer card (bot/channels/cards.py): the conclusion as a heading-like sentence, the two or three
  // figures that decide it, the next step, and the reasons with their sources collapsed under 「查看依据和说明」.
  function renderCard(container, card) {
    container.classList.add("qhdw-card");
    container.appendChild(el("h3", "qhdw-card-summary", card.summary));
    var figures = (card.figures || []).filter(function (f) { return f && f.label && f.value; });
    if (figures.length) {
      var list = el("ul", "qhdw-card-figures");
      figures.forEach(function (f) {
        var item = el("li", "qhdw-card-figure");
        item.appendChild(el("span", "qhdw-card-label", f.label + "："));
        item.appendChild(el("strong", "qhdw-card-value", f.value));
        list.appendChild(item);
      });
      container.appendChild(list);
    }
    if (card.next_step) {
      var next = el("p", "qhdw-card-next");
      next.appendChild(el("strong", "qhdw-card-next-label", T.nextStep));
      renderText(next, card.next_step);
      container.appendChild(next);
    }
    var details = (card.details || []).filter(Boolean);
    if (details.length) {
      var box = el("details", "qhdw-card-details");
      box.appendChild(el("summary", "qhdw-card-toggle", T.details));
      var reasons = el("ul", "qhdw-card-reasons");
      details.forEach(function (d) { var li = el("li"); renderText(li, d); reasons.appendChild(li); });
      box.appendChild(reasons);
      container.appendChild(box);
    }
  }

  // What 「朗读」 reads and the live region announces: the short card (conclusion, figures, next step),
  // never the caveats; links are left out (a web address read aloud helps nobody).
  function shortText(text, card) {
    var parts = card ? [card.summary].concat((card.figures || []).map(function (f) { return f.label + "：" + f.value; }),
                                            card.next_step ? [T.nextStep + card.next_step] : [])
                     : [text];
    return parts.join("\n").replace(LINK_RE, "").trim();
  }

  // ---------------------------------------------------------------- read aloud (Web Speech API)
  var speech = window.speechSynthesis && window.SpeechSynthesisUtterance ? window.speechSynthesis : null;
  var speaking = null;  // the button whose message is being read
  function chineseVoice() {
    if (!speech) { return null; }
    var voices = speech.getVoices() || [];
    var zh = voices.filter(function (v) { return /^zh/i.test(v.lang || ""); });
    return zh.filter(function (v) { return /^zh[-_]CN/i.test(v.lang); })[0] || zh[0] || null;
  }
  function showSpeakButtons() {
    var available = !!chineseVoice();
    var buttons = ui.log ? ui.log.querySelectorAll(".qhdw-speak") : [];
    for (var i = 0; i < buttons.length; i++) { buttons[i].hidden = !available; }
  }
  function setSpeaking(button) {
    if (speaking && speaking !== button) {
      speaking.setAttribute("aria-pressed", "false");
      speaking.lastChild.textContent = T.speak;
    }
    speaking = button;
    if (button) { button.setAttribute("aria-pressed", "true"); button.lastChild.textContent = T.stopSpeaking; }
  }
  // 🔊 drawn as SVG: many phones and the test browser have no colour-emoji font.
  function svgIcon(d, cls) {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("class", cls);
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var path = document.createElementNS(ns, "path");
    path.setAttribute("d", d);
    path.setAttribute("fill", "currentColor");
    svg.appendChild(path);
    return svg;
  }
  function speakerIcon() {
    return svgIcon("M3 9v6h4l5 4V5L7 9H3zm13.5 3a4.5 4.5 0 0 0-2.5-4v8a4.5 4.5 0 0 0 2.5-4zM14 3.2v2.1a7 7 0 0 1 0 13.4v2.1a9 9 0 0 0 0-17.6z",
                   "qhdw-speak-icon");
  }

  function speakButton(text) {
    var button = el("button", "qhdw-speak");
    button.type = "button";
    button.setAttribute("aria-pressed", "false");
    button.appendChild(speakerIcon());
    button.appendChild(el("span", null, T.speak));
    button.hidden = !chineseVoice();
    button.addEventListener("click", function () {
      var again = speaking === button;
      speech.cancel();
      setSpeaking(null);
      button.setAttribute("aria-pressed", "false");
      button.lastChild.textContent = T.speak;
      if (again) { return; }
      var voice = chineseVoice();
      if (!voice) { showSpeakButtons(); return; }
      var utterance = new window.SpeechSynthesisUtterance(text);
      utterance.voice = voice;
      utterance.lang = voice.lang || "zh-CN";
      utterance.rate = 0.9;  // a little slower than default: many callers are older
      utterance.onend = utterance.onerror = function () { if (speaking === button) { setSpeaking(null); } };
      setSpeaking(button);
      speech.speak(utterance);
    });
    return button;
  }
  if (speech && speech.addEventListener) { speech.addEventListener("voiceschanged", showSpeakButtons); }

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

    // The scrolling box is the log; the messages are a real list inside it. The log itself is not
    // live: `announcer` says the conclusion of each answer, so a screen reader does not read caveats.
    var scroller = el("div", "qhdw-scroll");
    scroller.setAttribute("role", "log");
    scroller.setAttribute("aria-label", T.log);
    scroller.setAttribute("aria-live", "off");
    scroller.tabIndex = 0;
    var log = el("ol", "qhdw-log");
    scroller.appendChild(log);
    var announcer = el("div", "qhdw-sr");
    announcer.setAttribute("aria-live", "polite");

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
    panel.appendChild(scroller);
    panel.appendChild(announcer);
    panel.appendChild(typing);
    panel.appendChild(replies);
    panel.appendChild(form);
    root.appendChild(launcher);
    root.appendChild(panel);
    document.body.appendChild(root);

    ui = {root: root, launcher: launcher, panel: panel, status: status, large: large, close: close,
          offline: offline, mode: mode, scroller: scroller, log: log, announcer: announcer, typing: typing, replies: replies, form: form,
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
      if (announce) { ui.hint.textContent = on ? T.largeOn : T.largeOff; scrollToLatest(); }  // text reflowed
    };
    ui.open = function () {
      ui.panel.hidden = false;
      scrollToLatest();
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

  // A new message scrolls into view, but never past the START of a long answer of this turn: the
  // resident sees its conclusion first, not its last caveat.
  var turnAnchor = null;
  function scrollForNew(item, role, card) {
    var box = ui.scroller;
    if (role === "user" || (turnAnchor && !ui.log.contains(turnAnchor))) { turnAnchor = null; }  // new turn, or history redrawn
    if (!turnAnchor && role !== "user" && (card || item.offsetHeight > box.clientHeight * 0.6)) { turnAnchor = item; }
    // with an anchor: its start (never past it, even when a short follow-up arrives); without: the end
    scrollToLatest();
  }
  // Opening the panel (positions cannot be measured while it is hidden): the latest long answer's start.
  function scrollToLatest() {
    var box = ui.scroller;
    box.scrollTop = turnAnchor
      ? box.scrollTop + turnAnchor.getBoundingClientRect().top - box.getBoundingClientRect().top - 8
      : box.scrollHeight;
  }

  function announce(role, text, card) {
    if (role === "user") { return; }
    var who = role === "operator" ? T.operator : T.bot;
    ui.announcer.textContent = who + T.says + (card ? card.summary : shortText(text, null));
  }

  // ---------------------------------------------------------------- 👍 / 👎 under each bot answer (issue 14)
  var FB = {up: "有帮助", down: "没帮助", thanks: "谢谢您的反馈！", failed: "反馈没有发出去，请稍后再试。",
            reason: "哪里不对？（可不填）", send: "提交"};
  var THUMB = "M2 10h4v11H2zM8 10.5l4.2-8.3c1.5 0 2.6 1.2 2.4 2.7L14 9h6.2c1.2 0 2.1 1.1 1.8 2.3l-1.9 7.9c-.3 1.1-1.2 1.8-2.3 1.8H8z";
  var feedbackAuth = null;  // {token, csrf} from /widget/session: the web app checks both
  function postFeedback(body, retried) {
    var auth = feedbackAuth ? Promise.resolve(feedbackAuth) : getJson("/widget/session").then(function (i) {
      feedbackAuth = {token: i.token, csrf: i.csrf}; return feedbackAuth; });
    return auth.then(function (a) {
      return fetch(origin + "/widget/feedback", {method: "POST", credentials: "include", cache: "no-store",
        headers: {"Content-Type": "application/json", "X-CSRF-Token": a.csrf, "Authorization": "Bearer " + a.token},
        body: JSON.stringify(body)});
    }).then(function (r) {
      if (r.status === 403 && !retried) { feedbackAuth = null; return postFeedback(body, true); }  // token expired
      if (!r.ok) { throw new Error("HTTP " + r.status); }
      return r.json();
    });
  }
  function feedbackButtons(text) {
    var box = el("div", "qhdw-feedback");
    var buttons = {};
    function vote(kind, reason) {
      postFeedback({text: text, vote: kind, reason: reason || null}).then(function () {
        buttons.up.setAttribute("aria-pressed", String(kind === "up"));
        buttons.down.setAttribute("aria-pressed", String(kind === "down"));
        ui.hint.textContent = FB.thanks;
        var item = box.closest(".qhdw-msg");
        if (kind === "down" && !reason && item && !item.querySelector(".qhdw-reason")) { item.appendChild(reasonForm()); }
      }, function () { ui.hint.textContent = FB.failed; });
    }
    function reasonForm() {
      var form = el("form", "qhdw-reason");
      var input = el("input");
      input.type = "text"; input.maxLength = 200; input.placeholder = FB.reason; input.setAttribute("aria-label", FB.reason);
      var send = el("button", "qhdw-vote", FB.send);
      send.type = "submit";
      form.appendChild(input); form.appendChild(send);
      form.addEventListener("submit", function (e) {
        e.preventDefault();
        if (input.value.trim()) { vote("down", input.value.trim()); }
        form.parentNode.removeChild(form);
      });
      return form;
    }
    ["up", "down"].forEach(function (kind) {
      var b = el("button", "qhdw-vote qhdw-vote-" + kind);
      // 👍 / 👎 drawn (not emoji: devices without an emoji font would show a box); the words say it
      b.appendChild(svgIcon(THUMB, "qhdw-vote-icon" + (kind === "down" ? " qhdw-vote-icon-down" : "")));
      b.appendChild(document.createTextNode(" " + FB[kind]));
      b.type = "button";
      b.setAttribute("aria-pressed", "false");
      b.addEventListener("click", function () { vote(kind); });
      buttons[kind] = b;
      box.appendChild(b);
    });
    return box;
  }

  function addMessage(role, text, when, buttons, card) {
    var item = el("li", "qhdw-msg qhdw-from-" + role);
    var who = role === "user" ? T.you : (role === "operator" ? T.operator : T.bot);
    var sender = el("span", "qhdw-who", who);
    var sr = el("span", "qhdw-sr", T.says);
    sender.appendChild(sr);
    var bubble = el("div", "qhdw-bubble");
    if (card && card.summary) { renderCard(bubble, card); } else { card = null; renderText(bubble, text); }
    var date = when ? new Date(when) : new Date();
    var time = el("time", "qhdw-time", formatTime(date));
    time.dateTime = date.toISOString();
    item.appendChild(sender);
    item.appendChild(bubble);
    if (role !== "user" && speech) {
      var tools = el("div", "qhdw-tools");
      tools.appendChild(time);
      tools.appendChild(speakButton(shortText(text, card)));
      item.appendChild(tools);
    } else {
      item.appendChild(time);
    }
    if (role === "bot" && text && text !== T.welcome) {  // beside 「朗读」 when there is one
      (item.querySelector(".qhdw-tools") || item).appendChild(feedbackButtons(text));
    }
    ui.log.appendChild(item);
    setReplies(role === "user" ? [] : (buttons || []));
    scrollForNew(item, role, card);
    if (when === null || when === undefined) { announce(role, text, card); }
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
      messages.forEach(function (m) { addMessage(m.role, m.text, m.time, m.buttons, m.card); });
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
        addMessage(msg.operator ? "operator" : "bot", text, null, msg.quick_replies || msg.buttons || [], msg.card);
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

/* Operator console. Polls the JSON API (works behind any load balancer); every POST carries the
 * page's CSRF token in X-CSRF-Token. All server text goes into the page through textContent only. */
(function () {
  "use strict";
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  // Conversation states and speakers are worded once, on the server (bot.vocabulary.console_labels).
  var LABELS = JSON.parse(document.getElementById("console-labels").textContent);
  var STATE_ZH = LABELS.states;
  var ROLE_ZH = LABELS.speakers;
  var LIST_POLL_MS = 3000, CHAT_POLL_MS = 2000;
  var selected = null, filter = "all", me = null, lastCheck = null, lastTranscriptKey = "";

  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var n = document.createElement(tag);
    if (cls) { n.className = cls; }
    if (text !== undefined && text !== null) { n.textContent = String(text); }
    return n;
  }
  function clear(node) { while (node.firstChild) { node.removeChild(node.firstChild); } }
  function fmtTime(value) {
    if (!value) { return ""; }
    var d = typeof value === "number" ? new Date(value * 1000) : new Date(value);
    if (isNaN(d)) { return ""; }
    var p = function (n) { return (n < 10 ? "0" : "") + n; };
    return (d.getMonth() + 1) + "-" + p(d.getDate()) + " " + p(d.getHours()) + ":" + p(d.getMinutes());
  }
  function call(method, url, body) {
    var opts = {method: method, credentials: "same-origin", headers: {"Accept": "application/json"}};
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.headers["X-CSRF-Token"] = csrf;
      opts.body = JSON.stringify(body);
    } else if (method !== "GET") {
      opts.headers["X-CSRF-Token"] = csrf;
    }
    return fetch(url, opts).then(function (r) {
      if (r.status === 401) { window.location.href = "/login?next=/operator"; }
      return r.json().catch(function () { return {}; }).then(function (data) {
        if (!r.ok) {
          var msg = (data.error && data.error.message_zh) || ("请求失败（" + r.status + "）");
          var err = new Error(msg);
          err.data = data;
          throw err;
        }
        return data;
      });
    });
  }
  function showError(msg) { var e = $("chat-error"); e.textContent = msg || ""; e.hidden = !msg; }
  function convUrl(sender, tail) { return "/api/operator/conversations/" + encodeURIComponent(sender) + tail; }

  // ------------------------------------------------------------ conversation list
  function renderList(items) {
    var list = $("conversations");
    clear(list);
    var shown = items.filter(function (c) { return filter === "all" || c.state === filter; });
    $("list-status").textContent = shown.length ? "" : "暂时没有会话";
    shown.forEach(function (c) {
      var li = el("li", "conv" + (c.sender_id === selected ? " selected" : ""));
      var btn = el("button", "conv-btn");
      btn.type = "button";
      btn.setAttribute("aria-current", c.sender_id === selected ? "true" : "false");
      var top = el("span", "conv-top");
      top.appendChild(el("span", "badge state-" + c.state, STATE_ZH[c.state] || c.state));
      top.appendChild(el("span", "conv-id", "会话 " + c.sender_id.slice(-8)));
      top.appendChild(el("span", "conv-time", fmtTime(c.last_time)));
      btn.appendChild(top);
      if (c.preview) { btn.appendChild(el("span", "conv-preview", c.preview)); }
      if (c.operator && c.state === "operator") { btn.appendChild(el("span", "conv-op", "接管人：" + c.operator)); }
      btn.addEventListener("click", function () { select(c.sender_id); });
      li.appendChild(btn);
      list.appendChild(li);
    });
  }
  var lastItems = [];
  function pollList() {
    call("GET", "/api/operator/conversations").then(function (data) {
      me = data.me;
      lastItems = data.conversations || [];
      renderList(lastItems);
    }).catch(function (e) { $("list-status").textContent = e.message; });
  }
  Array.prototype.forEach.call(document.querySelectorAll(".tab"), function (tab) {
    tab.addEventListener("click", function () {
      filter = tab.getAttribute("data-filter");
      Array.prototype.forEach.call(document.querySelectorAll(".tab"), function (t) {
        t.setAttribute("aria-pressed", t === tab ? "true" : "false");
      });
      renderList(lastItems);
    });
  });

  // ------------------------------------------------------------ transcript
  function select(sender) {
    selected = sender;
    lastTranscriptKey = "";
    $("chat-title").textContent = "会话 " + sender.slice(-8);
    renderList(lastItems);
    pollChat();
  }
  // "the assistant got this wrong": the message goes to the staff's review inbox (issue 14)
  function flagButton(sender, time) {
    var b = el("button", "flag-wrong", "助手答错了");
    b.type = "button";
    b.addEventListener("click", function () {
      call("POST", convUrl(sender, "/flag"), {time: time}).then(function () {
        b.disabled = true; b.textContent = "已标记"; showError("");
      }).catch(function (e) { showError(e.message); });
    });
    return b;
  }
  function renderTranscript(data) {
    var key = JSON.stringify([data.messages.length, data.state, data.operator]);
    var mine = data.state === "operator" && data.operator === me;
    var badge = $("chat-state");
    badge.hidden = false;
    badge.textContent = (STATE_ZH[data.state] || data.state) + (data.operator && data.state === "operator" ? "（" + data.operator + "）" : "");
    badge.className = "badge state-" + data.state;
    $("takeover").disabled = mine;
    $("handback").disabled = data.state !== "operator";
    $("reply-text").disabled = !mine;
    $("reply-send").disabled = !mine;
    if (key === lastTranscriptKey) { return; }
    lastTranscriptKey = key;
    var log = $("transcript");
    clear(log);
    data.messages.forEach(function (m) {
      var li = el("li", "line from-" + m.role);
      var who = ROLE_ZH[m.role] + (m.operator ? "（" + m.operator + "）" : "");
      li.appendChild(el("span", "line-who", who));
      li.appendChild(el("span", "line-time", fmtTime(m.time)));
      li.appendChild(el("div", "line-text", m.text));
      if (m.role === "user" && m.time) { li.appendChild(flagButton(data.sender_id, m.time)); }
      log.appendChild(li);
    });
    log.scrollTop = log.scrollHeight;
  }
  function pollChat() {
    if (!selected) { return; }
    var sender = selected;
    call("GET", convUrl(sender, "/transcript")).then(function (data) {
      if (sender === selected) { showError(""); renderTranscript(data); }
    }).catch(function (e) { showError(e.message); });
  }
  $("takeover").addEventListener("click", function () {
    if (!selected) { return; }
    call("POST", convUrl(selected, "/takeover")).then(function () {
      pollChat(); pollList(); $("reply-text").focus();
    }).catch(function (e) { showError(e.message); });
  });
  $("handback").addEventListener("click", function () {
    if (!selected) { return; }
    call("POST", convUrl(selected, "/handback")).then(function () { pollChat(); pollList(); })
      .catch(function (e) { showError(e.message); });
  });
  $("reply-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var text = $("reply-text").value.trim();
    if (!text || !selected) { return; }
    call("POST", convUrl(selected, "/message"), {text: text}).then(function () {
      $("reply-text").value = "";
      pollChat();
    }).catch(function (e) { showError(e.message); });
  });
  $("canned-insert").addEventListener("click", function () {
    var topic = $("canned-topic").value;
    if (!topic) { $("canned-topic").focus(); return; }
    var q = "?intent=" + encodeURIComponent(topic) + "&district=" + encodeURIComponent($("canned-district").value);
    call("GET", "/api/canned" + q).then(function (data) {
      var box = $("reply-text");
      box.value = (box.value ? box.value + "\n" : "") + data.text;
      if (!box.disabled) { box.focus(); }
    }).catch(function (e) { showError(e.message); });
  });

  // ------------------------------------------------------------ eligibility form
  function addMember(isSelf) {
    var node = document.importNode($("member-row").content, true).firstElementChild;
    if (isSelf) { node.querySelector('[data-k="relation"]').value = "self"; node.querySelector("[data-remove]").hidden = true; }
    else { node.querySelector('[data-k="relation"]').value = "spouse"; }
    node.querySelector("[data-remove]").addEventListener("click", function () { node.remove(); });
    $("members").appendChild(node);
  }
  addMember(true);
  $("add-member").addEventListener("click", function () { addMember(false); });
  $("e-program").addEventListener("change", function () { $("job-fields").hidden = $("e-program").value !== "job_subsidy"; });
  function num(id) { var v = parseFloat($(id).value); return isNaN(v) ? 0 : v; }
  function buildCase() {
    var household = Array.prototype.map.call(document.querySelectorAll("#members .member"), function (m) {
      var get = function (k) { return m.querySelector('[data-k="' + k + '"]'); };
      var level = get("disability_level").value;
      return {
        relation: get("relation").value, age: parseInt(get("age").value, 10),
        monthly_income: parseFloat(get("monthly_income").value) || 0, income_type: get("income_type").value,
        employed: get("employed").checked, disability_level: level ? parseInt(level, 10) : null,
        disability_kind: get("disability_kind").value || null, illness_name: get("illness_name").value.trim() || null,
        able_to_work: get("able_to_work").checked
      };
    });
    var c = {
      program: $("e-program").value, district: $("e-district").value, residence: $("e-residence").value,
      household: household,
      rigid_expenses_monthly: {medical: num("e-medical"), education: num("e-education"), disability_rehab: num("e-rehab")},
      assets: {deposits: num("e-deposits"), private_cars: num("e-cars"), disability_vehicles: 0, homes: num("e-homes")},
      receiving_dibao: $("e-receiving").checked, income_rose_due_to_employment: $("e-rose").checked
    };
    if (c.program === "job_subsidy") {
      c.job = {poverty_alleviated: $("j-status").value === "alleviated", monitored_household: $("j-status").value === "monitored",
               employer_type: $("j-employer").value || null,
               months_employed: num("j-months"), work_location: $("j-location").value};
    }
    return c;
  }
  function renderResult(result) {
    var box = $("elig-result");
    clear(box);
    // Words come from the server's presenter (bot/eligibility/present.py): the same card the chat shows.
    var card = result.card || {summary: "", figures: [], next_step: "", details: []};
    box.appendChild(el("p", "verdict v-" + String(result.eligible), card.summary));
    card.figures.forEach(function (f) { box.appendChild(el("p", null, f.label + "：" + f.value)); });
    if (card.next_step) { box.appendChild(el("p", null, "下一步：" + card.next_step)); }
    card.details.forEach(function (d) { box.appendChild(el("p", "caveat", d)); });
    box.appendChild(el("p", "muted", "已记录为话务员代填（规则版本 " + (result.rulebook_version || "?") + "）"));
  }
  $("elig-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var c = buildCase();
    var q = selected ? "?sender_id=" + encodeURIComponent(selected) : "";
    call("POST", "/api/eligibility" + q, c).then(function (result) {
      lastCheck = {"case": c, "result": result};
      $("r-attach").disabled = false;
      $("r-attach").checked = true;
      renderResult(result);
    }).catch(function (e) {
      var box = $("elig-result");
      clear(box);
      var field = e.data && e.data.error && e.data.error.field;
      box.appendChild(el("p", "error", e.message + (field ? "（" + field + "）" : "")));
    });
  });

  // ------------------------------------------------------------ help request on the caller's behalf
  var requestKey = null;
  function newKey() { return "op-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 10); }
  $("request-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    requestKey = requestKey || newKey();  // the same key on a retry: never two requests for one click
    var body = {
      name: $("r-name").value, phone: $("r-phone").value, district: $("r-district").value,
      township: $("r-township").value, category: $("r-category").value, urgency: $("r-urgency").value,
      description: $("r-description").value, sender_id: selected || null, idempotency_key: requestKey,
      decision_snapshot: ($("r-attach").checked && lastCheck) ? lastCheck : null,
      consent: $("r-consent").checked
    };
    var box = $("request-result");
    call("POST", "/api/operator/requests", body).then(function (data) {
      clear(box);
      box.appendChild(el("p", "ok", "已登记，编号 " + data.reference_no + "。请把编号告诉来电人。"));
      requestKey = null;
      $("request-form").reset();
    }).catch(function (e) { clear(box); box.appendChild(el("p", "error", e.message)); });
  });

  pollList();
  setInterval(pollList, LIST_POLL_MS);
  setInterval(pollChat, CHAT_POLL_MS);
})();

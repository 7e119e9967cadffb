// Session Studio: live heads and countdowns, the tree, actions (preflight, then send), the wizard, the chart.
(function () {
  "use strict";
  const S = window.STUDIO || {chains: {}};
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const heads = {};
  for (const [name, c] of Object.entries(S.chains)) heads[name] = {ts: c.timestamp, block: c.block, seen: Date.now()};
  const opened = new Set(JSON.parse(sessionStorage.getItem("studio-open") || "[]"));
  const shut = new Set(JSON.parse(sessionStorage.getItem("studio-shut") || "[]"));  // closed by hand
  let account = null;  // a browser wallet's account, once connected

  // ---------------------------------------------------------------- time
  function chainNow(name) {
    const h = heads[name] || Object.values(heads)[0];
    if (!h) return Date.now() / 1000;
    return h.ts + Math.max(0, (Date.now() - h.seen) / 1000);
  }
  function span(seconds) {
    seconds = Math.floor(Math.abs(seconds));
    const d = Math.floor(seconds / 86400), h = Math.floor(seconds % 86400 / 3600),
          m = Math.floor(seconds % 3600 / 60), s = seconds % 60;
    if (d) return d + "d " + h + "h";
    if (h) return h + "h " + m + "m";
    if (m) return m + "m " + s + "s";
    return s + "s";
  }
  function fmtTime(ts) { return new Date(ts * 1000).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC"); }
  function tick() {
    document.querySelectorAll("[data-deadline]").forEach(el => {
      const left = Number(el.dataset.deadline) - chainNow(el.dataset.chain);
      el.textContent = Math.abs(left) < 1 ? "now" : (left > 0 ? "in " + span(left) : span(left) + " ago");
      el.classList.toggle("late", left <= 0);
    });
    document.querySelectorAll("[data-since]").forEach(el => {
      el.textContent = span(chainNow(el.dataset.chain) - Number(el.dataset.since));
    });
    for (const [name, h] of Object.entries(heads)) {
      document.querySelectorAll('.block-number[data-chain="' + name + '"]').forEach(el => { el.textContent = h.block; });
      document.querySelectorAll('.chain-time[data-chain="' + name + '"]').forEach(el => { el.textContent = fmtTime(Math.floor(chainNow(name))); });
    }
  }
  setInterval(tick, 1000);

  // ---------------------------------------------------------------- live stream
  function connect() {
    const source = new EventSource("/stream?v=" + S.version);
    const dot = document.getElementById("live");
    source.addEventListener("block", ev => {
      const data = JSON.parse(ev.data);
      for (const [name, c] of Object.entries(data)) heads[name] = {ts: c.timestamp, block: c.block, seen: Date.now()};
      tick();
      if (dot) { dot.classList.add("on"); dot.title = "live: block " + Object.values(data).map(c => c.block).join(", "); }
    });
    source.addEventListener("health", ev => {
      const error = JSON.parse(ev.data).error, box = document.getElementById("node-trouble");
      if (!box) return;
      box.hidden = !error;
      box.textContent = error ? "Cannot read the chain right now, so what you see may be out of date: " + error : "";
    });
    source.addEventListener("changed", ev => {
      const data = JSON.parse(ev.data);
      S.version = data.version;
      document.body.dispatchEvent(new CustomEvent("studio:changed"));
      // a session page refreshes only when its session, an ancestor or a child changed (focus stays put otherwise)
      const live = document.getElementById("session-live");
      if (live) {
        const mine = (live.dataset.related || "").split(" ").filter(Boolean);
        const hit = data.sessions === null || data.sessions.some(k => k.endsWith(":*") ?
          k.slice(0, -2) === live.dataset.key : mine.includes(k));
        if (hit) { document.body.dispatchEvent(new CustomEvent("studio:session-changed")); refreshChart(); }
      }
    });
    source.onerror = () => { if (dot) dot.classList.remove("on"); };
  }
  connect();

  // ---------------------------------------------------------------- keep the focus through live redraws
  // A live redraw replaces the element that had the keyboard focus; the same control (same id, tree node, link or
  // action) gets it back, so a keyboard user is not thrown to the top of the page by a block.
  let focusKey = null;
  function keyOf(el) {
    if (!el || el === document.body) return null;
    if (el.id) return "#" + CSS.escape(el.id);
    if (el.dataset.node && el.classList.contains("toggle")) return 'button.toggle[data-node="' + CSS.escape(el.dataset.node) + '"]';
    if (el.dataset.action) return 'button[data-action="' + el.dataset.action + '"][data-manager="' + CSS.escape(el.dataset.manager || "") + '"]';
    if (el.tagName === "A" && el.getAttribute("href")) return 'a[href="' + CSS.escape(el.getAttribute("href")) + '"]';
    return null;
  }
  document.addEventListener("htmx:beforeSwap", ev => {
    const target = ev.detail.target;
    focusKey = target && target.contains(document.activeElement) ? keyOf(document.activeElement) : null;
  });
  document.addEventListener("htmx:afterSettle", () => {
    if (!focusKey) return;
    const again = document.querySelector(focusKey);
    focusKey = null;
    if (again && document.activeElement !== again) again.focus({preventScroll: true});
  });

  // ---------------------------------------------------------------- fleet tree
  function saveOpen() {
    sessionStorage.setItem("studio-open", JSON.stringify([...opened]));
    sessionStorage.setItem("studio-shut", JSON.stringify([...shut]));
  }
  window.studioOpenNodes = () => [...opened].join(",");
  window.studioShutNodes = () => [...shut].join(",");
  window.studioPage = () => { const m = document.getElementById("matched"); return m ? m.dataset.page : "1"; };
  function filterQuery() {
    const form = document.getElementById("filters");
    return form ? new URLSearchParams(new FormData(form)).toString() : "";
  }
  // Shows a tree node closed (its children stay in the page, hidden).
  function fold(button) {
    const group = document.getElementById(button.getAttribute("aria-controls"));
    if (group) group.hidden = true;
    button.setAttribute("aria-expanded", "false"); button.closest("li").dataset.expanded = "false";
    button.textContent = "▸"; button.setAttribute("aria-label", button.getAttribute("aria-label").replace(/^Collapse/, "Expand"));
  }
  // A redraw asked for before a node was closed by hand answers with it open: the hand wins.
  document.addEventListener("htmx:afterSwap", ev => {
    const root = ev.detail.target;
    if (!root || !shut.size) return;
    root.querySelectorAll('button.toggle[aria-expanded="true"]').forEach(button => {
      if (shut.has(button.dataset.node)) fold(button);
    });
  });
  document.addEventListener("click", ev => {
    const button = ev.target.closest("button.toggle");
    if (!button) return;
    const node = button.dataset.node, group = document.getElementById(button.getAttribute("aria-controls"));
    const item = button.closest("li");
    const open = button.getAttribute("aria-expanded") === "true";
    const label = button.getAttribute("aria-label");
    if (open) {
      opened.delete(node); shut.add(node); fold(button);
    } else {
      opened.add(node); shut.delete(node);
      const show = () => {
        group.hidden = false;
        button.setAttribute("aria-expanded", "true"); item.dataset.expanded = "true";
        button.textContent = "▾"; button.setAttribute("aria-label", label.replace(/^Expand/, "Collapse"));
      };
      if (!group.children.length) {
        const url = "/fleet/children?m=" + encodeURIComponent(button.dataset.key) + "&id=" + button.dataset.id +
          "&open=" + encodeURIComponent(window.studioOpenNodes()) + "&shut=" + encodeURIComponent(window.studioShutNodes()) +
          "&" + filterQuery();
        htmx.ajax("GET", url, {target: group, swap: "innerHTML"}).then(show);
      } else show();
    }
    saveOpen();
  });

  // ---------------------------------------------------------------- actions
  const dialog = document.getElementById("action-dialog");
  let current = null;
  function post(url, body) {
    return fetch(url, {method: "POST", headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf},
                       body: JSON.stringify(body)}).then(r => r.json());
  }
  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function requestBody() {
    const body = {action: current.action, manager: current.manager, session: current.session};
    dialog.querySelectorAll("#action-inputs input").forEach(i => { body[i.name] = i.value; });
    if (account) body.from = account;
    return body;
  }
  function showError(box, answer, heading) {
    box.replaceChildren();
    const div = el("div", {class: "refused", role: "status"});
    div.append(el("p", {}, heading));
    if (answer.error_name) div.append(el("p", {class: "error-name"}, answer.error_name));
    div.append(el("p", {class: "error-line"}, answer.error || "failed"));
    if (answer.explanation) div.append(el("p", {class: "explanation"}, answer.explanation));
    box.append(div);
  }
  function preflight() {
    const box = dialog.querySelector("#action-preflight"), send = dialog.querySelector("#action-send");
    dialog.querySelector("#action-result").replaceChildren();
    box.replaceChildren(el("p", {class: "muted"}, "Asking the contract…"));
    send.disabled = true;
    return post("/api/preflight", requestBody()).then(answer => {
      box.replaceChildren();
      if (answer.facts) {
        const dl = el("dl", {class: "facts", "aria-label": "What the contract says"});
        answer.facts.forEach(([k, v]) => { dl.append(el("dt", {}, k), el("dd", {}, v)); });
        box.append(el("h3", {}, "Preflight: " + (answer.summary || current.action)), dl);
      }
      if (answer.ok) {
        box.append(el("p", {class: "ok", id: "preflight-ok"}, "The dry run passes: this would go through now."));
        send.textContent = "Send";
      } else {
        const holder = el("div", {id: "preflight-refused"});
        box.append(holder);
        showError(holder, answer, "The contract would refuse it:");
        send.textContent = "Send anyway";
      }
      send.disabled = !answer.facts;
    }).catch(err => { box.replaceChildren(el("p", {class: "refused"}, String(err))); });
  }
  function onChain(chainId) {  // the wallet on the chain the server prepared for
    return window.ethereum.request({method: "eth_chainId"}).then(id => {
      if (parseInt(id, 16) !== parseInt(chainId, 16)) {
        return window.ethereum.request({method: "wallet_switchEthereumChain", params: [{chainId: chainId}]});
      }
    });
  }
  function sendAction() {
    const out = dialog.querySelector("#action-result"), send = dialog.querySelector("#action-send");
    send.disabled = true;
    out.replaceChildren(el("p", {class: "muted"}, "Sending…"));
    if (account && window.ethereum) {
      return post("/api/prepare", requestBody()).then(prep => {
        if (!prep.ok) { showError(out, prep, "Could not prepare it:"); return; }
        return onChain(prep.chainId).then(() => window.ethereum.request({method: "eth_sendTransaction",
                                               params: [Object.assign({from: account}, prep.tx)]}))
          .then(hash => { out.replaceChildren(el("p", {class: "ok", id: "action-sent"}, "Sent from your wallet: " + hash)); })
          .catch(err => { showError(out, {error: err.message || String(err)}, "The wallet refused or the chain reverted:"); preflight(); });
      });
    }
    return post("/api/send", requestBody()).then(result => {
      if (result.ok) {
        out.replaceChildren(el("p", {class: "ok", id: "action-sent"},
          "Done in block " + result.block + " (" + result.tx_hash + "), signed by " + result.signer + "."));
      } else showError(out, result, "It failed:");
    });
  }
  document.addEventListener("click", ev => {
    const button = ev.target.closest("button.action");
    if (!button || !dialog) return;
    current = {action: button.dataset.action, manager: button.dataset.manager,
               session: button.dataset.session ? Number(button.dataset.session) : null};
    dialog.querySelector("#action-title").textContent = button.textContent.trim() +
      (current.session ? " session #" + current.session : " (" + current.manager + ")");
    dialog.querySelector("#action-who").textContent = button.dataset.who ? "Who may: " + button.dataset.who + "." : "";
    const inputs = dialog.querySelector("#action-inputs");
    inputs.replaceChildren();
    (button.dataset.inputs || "").split(",").filter(Boolean).forEach(name => {
      const id = "action-input-" + name;
      const labels = {new_agent: "New agent address", token: "Token (ETH, a symbol or an address)", amount: "Amount (with its unit, e.g. 0.1 ether)"};
      inputs.append(el("label", {for: id}, labels[name] || name));
      const input = el("input", {id: id, name: name, size: "44"});
      if (name === "token") input.value = "ETH";
      inputs.append(input);
    });
    dialog.querySelector("#action-preflight").replaceChildren();
    dialog.querySelector("#action-result").replaceChildren();
    dialog.querySelector("#action-send").disabled = true;
    dialog.showModal();
    if (!inputs.children.length) preflight();
    else inputs.querySelector("input").focus();
  });
  if (dialog) {
    // an answer holds for the inputs it was asked with: editing them asks again before anything is sent
    dialog.querySelector("#action-inputs").addEventListener("input", () => {
      dialog.querySelector("#action-preflight").replaceChildren();
      dialog.querySelector("#action-result").replaceChildren();
      dialog.querySelector("#action-send").disabled = true;
    });
    dialog.querySelector("#action-check").addEventListener("click", preflight);
    dialog.querySelector("#action-send").addEventListener("click", sendAction);
    dialog.querySelector("#action-cancel").addEventListener("click", () => dialog.close());
  }

  // ---------------------------------------------------------------- wallet (EIP-1193)
  const connectButton = document.getElementById("connect-wallet");
  function connectWallet() {
    return window.ethereum.request({method: "eth_requestAccounts"}).then(accounts => {
      account = accounts[0];
      const mode = document.getElementById("signer-mode");  // absent on a read-only studio
      if (mode) mode.textContent = "signing: wallet " + account;
      if (connectButton) connectButton.textContent = "Wallet connected";
      return account;
    });
  }
  if (connectButton && window.ethereum) {
    connectButton.hidden = false;
    connectButton.addEventListener("click", connectWallet);
  }

  // ---------------------------------------------------------------- wizard
  const wizard = document.getElementById("wizard");
  if (wizard) {
    let rows = 1;
    function addRow(containerId, cls, fields) {
      const container = document.getElementById(containerId), div = el("div", {class: cls}), n = rows++;
      fields.forEach(([field, label]) => {
        const id = containerId + "-" + n + "-" + field;
        div.append(el("label", {for: id}, label), el("input", {id: id, "data-field": field, size: "14"}));
      });
      container.append(div);
      div.querySelector("input").focus();
    }
    document.getElementById("w-add-budget").addEventListener("click", () => addRow("w-budgets", "budget-row",
      [["token", "Token"], ["amount", "Total"], ["per_call", "Per call"], ["per_period", "Per window"]]));
    document.getElementById("w-add-perm").addEventListener("click", () => addRow("w-perms", "perm-row",
      [["target", "Target"], ["selector", "Selector or signature (* = every)"]]));
    function rowsOf(id) {
      return [...document.querySelectorAll("#" + id + " > div")].map(div => {
        const out = {};
        div.querySelectorAll("input").forEach(i => { out[i.dataset.field] = i.value; });
        return out;
      });
    }
    function formBody() {
      const f = new FormData(wizard);
      return {manager: f.get("manager"), agent: f.get("agent"), label: f.get("label"), expires: f.get("expires"),
        period: f.get("period"), max_calls_per_period: f.get("max_calls_per_period"), max_idle: f.get("max_idle"),
        draft: f.get("draft") === "on", any_target: f.get("any_target") === "on",
        budgets: rowsOf("w-budgets"), permissions: rowsOf("w-perms")};
    }
    function showProblems(answer) {
      const problems = document.getElementById("w-problems");
      problems.replaceChildren();
      if (!answer.problems && answer.ok !== false) return;
      const ul = el("ul", {class: "refused"});
      Object.entries(answer.problems || {error: answer.error}).forEach(([k, v]) => ul.append(el("li", {}, k + ": " + v)));
      problems.append(ul);
    }
    wizard.addEventListener("submit", ev => {
      ev.preventDefault();
      post("/api/params", formBody()).then(answer => {
        showProblems(answer);
        if (answer.ok) { document.getElementById("w-json").textContent = JSON.stringify(answer.params, null, 2); return; }
        document.getElementById("w-json").textContent = "—";
      });
    });

    // a grant: the server builds the EIP-712 typed data, the owner's wallet signs it, the server checks and sends it
    const grantBox = document.getElementById("w-grant-result"), signedBox = document.getElementById("w-signed-box");
    function grantDone(result) {
      signedBox.hidden = true;
      if (result.problems) {
        showProblems(result);
        grantBox.replaceChildren(el("p", {class: "refused", id: "grant-problems"}, "The form has problems (listed above)."));
        return;
      }
      document.getElementById("w-problems").replaceChildren();
      if (!result.ok) { showError(grantBox, result, "The grant was not opened:"); return; }
      grantBox.replaceChildren();
      if (result.submitted) {
        const p = el("p", {class: "ok", id: "grant-opened"}, "Opened ");
        result.sessions.forEach((s, i) => {
          if (i) p.append(", ");
          p.append(el("a", {href: s.url}, "session #" + s.id));
        });
        p.append(" (sent by " + result.sender + ").");
        grantBox.append(p);
        return;
      }
      grantBox.append(el("p", {class: "ok", id: "grant-signed"}, "Signed by the owner. This studio has no dev key " +
        "to send it: submit the signed grant elsewhere (agent-sessions relay, or submit_grant in Python)."));
      if (result.warning) {
        const holder = el("div", {id: "grant-warning"});
        grantBox.append(holder);
        showError(holder, {error: result.warning, explanation: result.explanation, error_name: result.error_name},
                  "The contract would refuse it now:");
      }
      const text = JSON.stringify(result.signed, null, 2);
      document.getElementById("w-signed").textContent = text;
      const link = document.getElementById("w-signed-download");
      link.href = URL.createObjectURL(new Blob([text + "\n"], {type: "application/json"}));
      link.download = result.filename || "grant.json";
      signedBox.hidden = false;
    }
    document.getElementById("w-grant").addEventListener("click", () => {
      const body = formBody();
      grantBox.replaceChildren(el("p", {class: "muted"}, "Preparing the grant…"));
      signedBox.hidden = true;
      if (window.ethereum) {
        return (account ? Promise.resolve(account) : connectWallet())
          .then(from => post("/api/grant/typed-data", Object.assign(body, {from: from})))
          .then(prep => {
            if (!prep.ok) { grantDone(prep); return; }
            grantBox.replaceChildren(el("p", {class: "muted"}, "Sign the grant in your wallet (owner " + prep.owner +
              "; ETH budgets " + prep.needed + " from a deposit of " + prep.deposit + ")…"));
            return onChain(prep.chainId)
              .then(() => window.ethereum.request({method: "eth_signTypedData_v4",
                                                   params: [account, JSON.stringify(prep.typedData)]}))
              .then(signature => post("/api/grant/submit", {typedData: prep.typedData, signature: signature}))
              .then(grantDone);
          })
          .catch(err => { signedBox.hidden = true; showError(grantBox, {error: err.message || String(err)}, "The wallet refused:"); });
      }
      if (S.devMode) return post("/api/grant/dev", body).then(grantDone);
      showError(grantBox, {error: "No browser wallet in this page.", explanation: "Use a browser with an " +
        "EIP-1193 wallet (window.ethereum) to sign as the manager's owner, or start the studio with --dev-key."},
        "Cannot sign:");
    });
    document.getElementById("w-signed-copy").addEventListener("click", () => {
      navigator.clipboard && navigator.clipboard.writeText(document.getElementById("w-signed").textContent);
    });
    document.getElementById("w-copy").addEventListener("click", () => {
      navigator.clipboard && navigator.clipboard.writeText(document.getElementById("w-json").textContent);
    });
  }

  // ---------------------------------------------------------------- chart
  let chart = null;
  const palette = ["#2563eb", "#d97706", "#059669", "#dc2626", "#7c3aed"];
  function refreshChart() {
    const box = document.getElementById("spend-chart");
    if (!box || !window.uPlot) return;
    fetch(box.dataset.url).then(r => r.json()).then(data => {
      if (chart) { chart.destroy(); chart = null; }
      box.replaceChildren();
      if (!data.series || !data.series.length) { box.append(el("p", {class: "muted"}, "No spend yet.")); return; }
      const opts = {width: Math.min(900, box.clientWidth || 800), height: 260,
        series: [{label: "time"}].concat(data.series.map((s, i) => ({label: s.symbol + " spent", stroke: palette[i % palette.length], width: 2, paths: uPlot.paths.stepped({align: 1})}))),
        scales: {x: {time: true, range: (u, min, max) => max - min < 120 ? [min - 60, max + 60] : [min, max]}},
        axes: [{}, {label: "cumulative spend"}]};
      chart = new uPlot(opts, [data.times].concat(data.series.map(s => s.values)), box);
      box.dataset.points = String(data.times.length);
      box.dataset.totals = data.series.map(s => s.total).join(", ");
    });
  }
  refreshChart();
  tick();
})();

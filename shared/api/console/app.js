// The Waymark console: state machines, their graphs and executions, read and driven through
// the Step Functions API at POST / (the same API the AWS CLI and SDKs use) and drawn with
// graph.js. Pages are chosen by the URL's fragment: #/ , #/machine/ARN , #/execution/ARN.
"use strict";
(function () {
  const main = () => document.getElementById("main");
  let timer = null;
  let selected = null;
  // What was typed into the callback form, kept while the live view redraws every second.
  let drafts = {};

  async function api(operation, body) {
    const r = await fetch("/", {
      method: "POST",
      headers: {
        "Content-Type": "application/x-amz-json-1.0",
        "X-Amz-Target": "AWSStepFunctions." + operation,
      },
      body: JSON.stringify(body || {}),
    });
    const data = await r.json().catch(() => ({}));
    if (!r.ok) {
      const type = (data.__type || String(r.status)).split("#").pop();
      throw new Error(type + ": " + (data.message || data.Message || r.statusText));
    }
    return data;
  }

  async function graphOf(definition, history) {
    const r = await fetch("console/graph", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(history ? { definition, history } : { definition }),
    });
    const data = await r.json();
    if (!r.ok) throw new Error(data.message || r.statusText);
    return data;
  }

  // h("tag", {attr: value, onclick: fn}, child...): children are nodes or text.
  function h(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      e.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
    }
    return e;
  }

  const link = (href, label) => h("a", { href }, label);
  const date = (t) => (t ? new Date(t * 1000).toLocaleString() : "");
  const pretty = (s) => {
    if (s === undefined || s === null) return "";
    try { return JSON.stringify(JSON.parse(s), null, 2); } catch (_) { return String(s); }
  };

  function show(...nodes) {
    const m = main();
    m.textContent = "";
    nodes.flat().forEach((n) => n && m.appendChild(n));
  }

  function failure(e) {
    show(h("p", { class: "error", id: "error" }, String(e.message || e)));
  }

  // --- pages -------------------------------------------------------------------------------

  async function machines() {
    const list = [];
    let token;
    do {
      const page = await api("ListStateMachines", token ? { nextToken: token } : {});
      list.push(...page.stateMachines);
      token = page.nextToken;
    } while (token);
    show(
      h("h1", {}, "State machines"),
      list.length
        ? h("table", { id: "machines" },
          h("tr", {}, h("th", {}, "Name"), h("th", {}, "Type"), h("th", {}, "Created")),
          list.map((m) => h("tr", {},
            h("td", {}, link("#/machine/" + encodeURIComponent(m.stateMachineArn), m.name)),
            h("td", {}, m.type), h("td", {}, date(m.creationDate)))))
        : h("p", {}, "No state machines yet. Create one with the AWS CLI or an SDK pointed at this server.")
    );
  }

  async function machine(arn) {
    const sm = await api("DescribeStateMachine", { stateMachineArn: arn });
    const filter = sessionStorage.getItem("wm-filter") || "";
    const graphBox = h("div", { class: "graph", id: "graph" });
    const input = h("textarea", { id: "start-input", rows: 6, spellcheck: "false" }, "{}");
    const name = h("input", { id: "start-name", placeholder: "name (optional)" });
    const start = h("button", {
      id: "start", onclick: async () => {
        try {
          const body = { stateMachineArn: arn, input: input.value };
          if (name.value.trim()) body.name = name.value.trim();
          const out = await api("StartExecution", body);
          location.hash = "#/execution/" + encodeURIComponent(out.executionArn);
        } catch (e) { alert(e.message); }
      },
    }, "Start execution");
    const statusSelect = h("select", {
      id: "status-filter", onchange: (ev) => { sessionStorage.setItem("wm-filter", ev.target.value); route(); },
    }, ["", "RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE"].map((s) =>
      h("option", { value: s, selected: s === filter }, s || "All statuses")));
    let executions = [];
    if (sm.type === "STANDARD") {
      const body = { stateMachineArn: arn, maxResults: 100 };
      if (filter) body.statusFilter = filter;
      executions = (await api("ListExecutions", body)).executions;
    }
    let versions = [];
    try { versions = (await api("ListStateMachineVersions", { stateMachineArn: arn })).stateMachineVersions || []; } catch (_) { /* none */ }
    show(
      h("p", {}, link("#/", "State machines"), " / ", sm.name),
      h("h1", {}, sm.name, " ", h("span", { class: "badge" }, sm.type)),
      graphBox,
      h("section", {},
        h("h2", {}, "Start an execution"),
        h("label", { for: "start-input" }, "Input (JSON)"), input, name, start),
      h("section", {},
        h("h2", {}, "Executions ", statusSelect),
        sm.type !== "STANDARD" ? h("p", {}, "Express executions are not listed (as on AWS).") :
          h("table", { id: "executions" },
            h("tr", {}, h("th", {}, "Name"), h("th", {}, "Status"), h("th", {}, "Started"), h("th", {}, "Stopped")),
            executions.map((x) => h("tr", {},
              h("td", {}, link("#/execution/" + encodeURIComponent(x.executionArn), x.name)),
              h("td", { class: "status " + x.status }, x.status),
              h("td", {}, date(x.startDate)), h("td", {}, date(x.stopDate)))))),
      versions.length ? h("section", {}, h("h2", {}, "Versions"),
        h("ul", {}, versions.map((v) => h("li", {}, v.stateMachineVersionArn)))) : null,
      h("details", {}, h("summary", {}, "Definition"), h("pre", {}, pretty(sm.definition)))
    );
    const view = await graphOf(sm.definition);
    WaymarkGraph.render(graphBox, view.graph, null, null);
  }

  async function history(arn) {
    const events = [];
    let token;
    do {
      const body = { executionArn: arn, maxResults: 1000 };
      if (token) body.nextToken = token;
      const page = await api("GetExecutionHistory", body);
      events.push(...page.events);
      token = page.nextToken;
    } while (token);
    return events;
  }

  function detailsOf(e) {
    const key = Object.keys(e).find((k) => k.endsWith("EventDetails"));
    return key ? e[key] : null;
  }

  function statePanel(name, run) {
    if (!name) return h("div", { id: "state", class: "panel" }, h("p", { class: "hint" }, "Click a state to see its input and output."));
    if (!run) return h("div", { id: "state", class: "panel" }, h("h3", {}, name), h("p", {}, "Not run."));
    return h("div", { id: "state", class: "panel" },
      h("h3", {}, name, " ", h("span", { class: "status " + run.status, id: "state-status" }, run.status)),
      h("p", {}, `Entered ${run.entered} time(s)` + (run.retries ? `, retried ${run.retries} time(s)` : "")),
      run.error ? h("div", {}, h("h4", {}, "Error"), h("pre", { id: "state-error" }, run.error + (run.cause ? "\n" + run.cause : ""))) : null,
      run.waiting ? callbackForm(name, run.waiting) : null,
      h("h4", {}, "Input"), h("pre", { id: "state-input" }, pretty(run.input)),
      h("h4", {}, "Output"), h("pre", { id: "state-output" }, pretty(run.output)));
  }

  // A waiting callback task: its approval links, and SendTaskSuccess / SendTaskFailure with the
  // token read from the task's parameters (or pasted when the task folds it into a string).
  function callbackForm(state, waiting) {
    const field = (tag, id, attrs, initial) => {
      const key = state + "|" + id;
      const e = h(tag, Object.assign({ id, oninput: () => { drafts[key] = e.value; } }, attrs));
      e.value = key in drafts ? drafts[key] : initial;
      return e;
    };
    const token = field("input", "task-token", { placeholder: "task token" }, waiting.token || "");
    const output = field("textarea", "task-output", { rows: 4, spellcheck: "false" }, "{}");
    const error = field("input", "task-error", { placeholder: "error (optional)" }, "");
    const cause = field("input", "task-cause", { placeholder: "cause (optional)" }, "");
    const send = (operation, body) => async () => {
      try {
        if (!token.value.trim()) throw new Error("The task token is needed to answer the task.");
        await api(operation, Object.assign({ taskToken: token.value.trim() }, body()));
        drafts = {};
        route();
      } catch (e) { alert(e.message); }
    };
    const safe = (url) => /^https?:\/\//.test(url) ? url : null;
    return h("div", { class: "callback", id: "callback" },
      h("h4", {}, "Waiting for a callback (", waiting.resource, ")"),
      waiting.approval && waiting.approval.length
        ? h("p", { id: "approval-links" }, "Approval: ", waiting.approval.filter(safe).map((u) =>
          h("span", {}, h("a", { href: u, target: "_blank", rel: "noopener noreferrer" }, "review"), " · ",
            h("a", { href: u + "&action=approve", target: "_blank", rel: "noopener noreferrer", class: "approve" }, "approve"), " · ",
            h("a", { href: u + "&action=reject", target: "_blank", rel: "noopener noreferrer", class: "reject" }, "reject"), " ")))
        : null,
      h("label", { for: "task-token" }, "Task token"), token,
      h("label", { for: "task-output" }, "Output (JSON)"), output,
      h("button", { id: "send-success", onclick: send("SendTaskSuccess", () => ({ output: output.value })) }, "Send task success"),
      h("div", { class: "row" }, error, cause,
        h("button", {
          id: "send-failure", onclick: send("SendTaskFailure", () => {
            const b = {};
            if (error.value) b.error = error.value;
            if (cause.value) b.cause = cause.value;
            return b;
          }),
        }, "Send task failure")));
  }

  async function execution(arn) {
    const ex = await api("DescribeExecution", { executionArn: arn });
    const sm = await api("DescribeStateMachineForExecution", { executionArn: arn });
    const events = await history(arn);
    const view = await graphOf(sm.definition, events);
    let mapRuns = [];
    try {
      const listed = (await api("ListMapRuns", { executionArn: arn })).mapRuns || [];
      mapRuns = await Promise.all(listed.slice(0, 20).map((r) => api("DescribeMapRun", { mapRunArn: r.mapRunArn })));
    } catch (_) { /* none */ }
    const graphBox = h("div", { class: "graph", id: "graph" });
    const panel = h("div", { id: "panel-slot" });
    const select = (name) => {
      selected = name;
      panel.textContent = "";
      panel.appendChild(statePanel(name, view.runs[name]));
    };
    const act = (label, id, fn) => h("button", {
      id, onclick: async () => { try { await fn(); route(); } catch (e) { alert(e.message); } },
    }, label);
    const ended = ex.status !== "RUNNING";
    show(
      h("p", {}, link("#/", "State machines"), " / ",
        link("#/machine/" + encodeURIComponent(ex.stateMachineArn), sm.name), " / ", ex.name),
      h("h1", {}, ex.name, " ", h("span", { class: "status " + ex.status, id: "execution-status" }, ex.status)),
      h("p", { class: "actions" },
        !ended ? act("Stop", "stop", () => api("StopExecution", { executionArn: arn })) : null,
        ["FAILED", "TIMED_OUT", "ABORTED"].includes(ex.status)
          ? act("Redrive", "redrive", () => api("RedriveExecution", { executionArn: arn })) : null,
        ex.error ? h("span", { class: "error" }, `${ex.error}: ${ex.cause || ""}`) : null),
      h("div", { class: "split" }, graphBox, panel),
      h("p", { class: "legend" }, ["notrun", "running", "succeeded", "failed", "caught"].map((s) =>
        h("span", { class: "key wm-st-" + s }, s === "notrun" ? "not run" : s)),
        h("span", { class: "key-retry" }, "↻n retried n times")),
      mapRuns.length ? h("section", {}, h("h2", {}, "Map runs"),
        h("table", { id: "map-runs" },
          h("tr", {}, ["Map run", "Status", "Items", "Succeeded", "Failed", "Running", "Pending", "Max concurrency"].map((t) => h("th", {}, t))),
          mapRuns.map((r) => {
            const c = r.itemCounts || {};
            return h("tr", {}, h("td", {}, h("code", {}, r.mapRunArn.split(":").slice(-2).join(":"))),
              h("td", {}, h("span", { class: "status " + r.status }, r.status)), h("td", {}, c.total),
              h("td", {}, c.succeeded), h("td", {}, c.failed), h("td", {}, c.running), h("td", {}, c.pending),
              h("td", {}, r.maxConcurrency || "unlimited"));
          }))) : null,
      h("section", {}, h("h2", {}, "Input and output"),
        h("div", { class: "split" }, h("pre", { id: "execution-input" }, pretty(ex.input)),
          h("pre", { id: "execution-output" }, pretty(ex.output)))),
      h("section", {}, h("h2", {}, `History (${events.length} events)`),
        h("table", { id: "history" },
          h("tr", {}, h("th", {}, "ID"), h("th", {}, "Type"), h("th", {}, "State"), h("th", {}, "Time"), h("th", {}, "Details")),
          events.map((e) => {
            const d = detailsOf(e);
            return h("tr", {}, h("td", {}, e.id), h("td", {}, e.type), h("td", {}, d && d.name ? d.name : ""),
              h("td", {}, date(e.timestamp)),
              h("td", {}, d ? h("code", {}, JSON.stringify(d).slice(0, 300)) : ""));
          })))
    );
    WaymarkGraph.render(graphBox, view.graph, view.runs, select);
    select(selected);
    if (!ended) timer = setTimeout(route, 1000);
  }

  async function route() {
    clearTimeout(timer);
    const hash = location.hash || "#/";
    const [, page, arg] = hash.match(/^#\/([a-z]*)\/?(.*)$/) || [];
    // A redraw of the live view must not take the caret from the field being typed in.
    const active = document.activeElement;
    const focus = active && active.id && "selectionStart" in active
      ? { id: active.id, start: active.selectionStart, end: active.selectionEnd } : null;
    try {
      if (page === "machine") await machine(decodeURIComponent(arg));
      else if (page === "execution") await execution(decodeURIComponent(arg));
      else await machines();
    } catch (e) {
      failure(e);
    }
    const again = focus && document.getElementById(focus.id);
    if (again && again !== document.activeElement) {
      again.focus();
      try { again.setSelectionRange(focus.start, focus.end); } catch (_) { /* not a text field */ }
    }
  }

  window.addEventListener("hashchange", () => { selected = null; drafts = {}; route(); });
  window.addEventListener("DOMContentLoaded", route);
})();

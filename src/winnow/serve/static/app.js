// The winnow search page: plain DOM, no build step. Every piece of text from the server is
// inserted as text (never as markup).
"use strict";

const $ = (id) => document.getElementById(id);
const BAR_TERMS = 8; // term bars shown per hit before the full explanation

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) if (child != null) node.append(child);
  return node;
}

function segments(parts) {
  const frag = document.createDocumentFragment();
  for (const s of parts) frag.append(s.match ? el("mark", { text: s.text }) : document.createTextNode(s.text));
  return frag;
}

const fmt = (x) => (x == null ? "–" : Math.abs(x) >= 100 ? x.toFixed(1) : x.toFixed(3));

let servers = [];

async function api(path, body) {
  const init = body === undefined ? {} : {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  };
  const response = await fetch(path, init);
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const err = data.error || { type: "http_error", message: `HTTP ${response.status}` };
    throw new Error(`${err.type}: ${err.message}`);
  }
  return data;
}

async function loadRetrievers() {
  const health = await api("/health");
  servers = health.retrievers;
  const select = $("retriever");
  select.replaceChildren(...servers.map((r) => el("option", { value: r.name, text: `${r.name} (${r.kind})` })));
  const wanted = new URLSearchParams(location.search).get("retriever");
  if (wanted && servers.some((r) => r.name === wanted)) select.value = wanted;
  showFields();
}

function showFields() {
  const info = servers.find((r) => r.name === $("retriever").value);
  const fields = info ? Object.entries(info.fields) : [];
  $("fields").textContent = fields.length
    ? "Filter fields: " + fields.map(([name, type]) => `${name} (${type})`).join(", ")
    : "";
}

// One bar per term: its contribution (query weight x impact) as a share of the largest.
function termBars(terms, limit) {
  const grid = el("div", { class: "bars" });
  const shown = limit ? terms.slice(0, limit) : terms;
  const max = Math.max(...shown.map((t) => Math.abs(t.contribution)), 1e-9);
  const groups = [["matched terms", shown.filter((t) => !t.expansion)], ["expansion terms", shown.filter((t) => t.expansion)]];
  for (const [heading, group] of groups) {
    if (!group.length) continue;
    grid.append(el("h4", { text: heading }));
    for (const t of group) {
      const kind = t.expansion ? "term expansion" : "term";
      const row = [
        el("span", { class: `label${t.expansion ? " expansion" : ""}`, text: t.term,
                     title: `${fmt(t.query_weight)} × ${fmt(t.impact)}` }),
        el("span", { class: "track" }, el("span", { class: `fill${t.expansion ? " expansion" : ""}` })),
        el("span", { class: "value", text: fmt(t.contribution) }),
      ];
      row[1].firstChild.style.width = `${(100 * Math.abs(t.contribution)) / max}%`;
      const wrap = el("div", { class: kind, "data-term": t.term, style: "display: contents" }, ...row);
      grid.append(wrap);
    }
  }
  return grid;
}

// One bar per fused input: its contribution to the fused score.
function partBars(parts) {
  const grid = el("div", { class: "bars" }, el("h4", { text: "fused inputs" }));
  const max = Math.max(...parts.map((p) => Math.abs(p.contribution)), 1e-9);
  for (const p of parts) {
    const fill = el("span", { class: "fill" });
    fill.style.width = `${(100 * Math.abs(p.contribution)) / max}%`;
    grid.append(el("div", { class: "part-bar", "data-retriever": p.retriever, style: "display: contents" },
      el("span", { class: "label", text: p.retriever, title: p.rank ? `rank ${p.rank}` : "not retrieved" }),
      el("span", { class: "track" }, fill),
      el("span", { class: "value", text: fmt(p.contribution) })));
  }
  return grid;
}

function bars(why) {
  if (!why) return null;
  if (why.parts.length) return partBars(why.parts);
  return termBars(why.terms, BAR_TERMS);
}

function termTable(terms) {
  return el("table", {},
    el("tr", {}, ...["term", "query weight", "impact", "weight × impact", ""].map((h) => el("th", { text: h }))),
    ...terms.map((t) => el("tr", { class: t.expansion ? "expansion" : "" },
      el("td", { text: t.term }), el("td", { text: fmt(t.query_weight) }), el("td", { text: fmt(t.impact) }),
      el("td", { text: fmt(t.contribution) }), el("td", { text: t.expansion ? "expansion" : "" }))));
}

function explanation(why) {
  const box = el("div", { class: "explanation" });
  box.append(el("div", { text: `score ${fmt(why.score)} from ${why.retriever}` }));
  if (why.note) box.append(el("div", { class: "note", text: why.note }));
  if (why.terms.length) box.append(termTable(why.terms), termBars(why.terms));
  for (const p of why.parts) {
    const head = p.rank
      ? `rank ${p.rank}, score ${fmt(p.score)}, adds ${fmt(p.contribution)}`
      : "not in its results, adds 0";
    const part = el("div", { class: "part" }, el("span", { class: "part-name", text: p.retriever }), ` — ${head}`);
    if (p.explanation && p.explanation.terms.length) part.append(termBars(p.explanation.terms, BAR_TERMS));
    box.append(part);
  }
  return box;
}

function renderHit(hit) {
  const title = hit.title_segments.length ? segments(hit.title_segments) : document.createTextNode(hit.title || hit.id);
  const li = el("li", { class: "hit", "data-id": hit.id },
    el("div", { class: "hit-head" },
      el("span", { class: "rank", text: `${hit.rank}.` }),
      el("span", { class: "title" }, title),
      el("span", { class: "meta", text: `${hit.id} · ${fmt(hit.score)}` })),
    el("div", { class: "snippet" }, segments(hit.snippet)),
    bars(hit.explanation));
  if (hit.explanation) {
    const toggle = el("button", { class: "explain-toggle", type: "button", text: "Explain" });
    toggle.addEventListener("click", () => {
      const open = li.querySelector(".explanation");
      if (open) open.remove();
      else li.append(explanation(hit.explanation));
      toggle.textContent = open ? "Explain" : "Hide explanation";
    });
    li.append(toggle);
  }
  return li;
}

async function search(event) {
  if (event) event.preventDefault();
  const query = $("query").value.trim();
  if (!query) return;
  const body = { query, k: Number($("k").value), retriever: $("retriever").value, explain: true, snippets: true,
                 filter: $("filter").value.trim() || null };
  const params = new URLSearchParams({ q: query, retriever: body.retriever });
  if (body.filter) params.set("filter", body.filter);
  history.replaceState(null, "", `?${params}`);
  $("error").hidden = true;
  $("status").textContent = "searching…";
  try {
    const data = await api("/search", body);
    $("results").replaceChildren(...data.hits.map(renderHit));
    const commit = data.generation == null ? "" : ` · commit ${data.generation}`;
    $("status").textContent = `${data.hits.length} hits from ${data.retriever} in ${data.took_ms.toFixed(1)} ms${commit}`;
  } catch (err) {
    $("results").replaceChildren();
    $("status").textContent = "";
    $("error").textContent = err.message;
    $("error").hidden = false;
  }
  document.body.dataset.searches = String(Number(document.body.dataset.searches || 0) + 1);
}

async function start() {
  const params = new URLSearchParams(location.search);
  $("query").value = params.get("q") || "";
  $("filter").value = params.get("filter") || "";
  $("search-form").addEventListener("submit", search);
  $("retriever").addEventListener("change", () => { showFields(); search(); });
  try {
    await loadRetrievers();
  } catch (err) {
    $("error").textContent = err.message;
    $("error").hidden = false;
    return;
  }
  document.body.dataset.ready = "1";
  if ($("query").value) search();
}

start();

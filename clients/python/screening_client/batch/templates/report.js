// Draws one section per row from the embedded JSON (keys written by report.py `_compact`;
// hits refer to `entities` and `explanations` by position): the first screenful at once, the
// rest in slices so that the page answers meanwhile. Drives the decision filter, the search
// box and #row-N anchors (to rows not built yet too). Everything from the data is set as
// text, never parsed as markup.
"use strict";
(function () {
  const data = JSON.parse(document.getElementById("report-data").textContent);
  const rows = data.rows;
  const entities = data.entities;
  const explanations = data.explanations;
  const basisLabels = data.basis;
  const main = document.getElementById("rows");
  const noun = main.dataset.noun;
  const search = document.getElementById("search");
  const boxes = Array.from(document.querySelectorAll('#decision-filter input[name="decision"]'));
  const shownLabel = document.getElementById("shown");
  const FIRST = 80;
  const SLICE_MS = 12;
  const sections = [];
  const indexOfRow = new Map(rows.map((row, i) => [row.r, i]));
  let haystacks = null;
  let query = "";
  let decisions = new Set(boxes.map((box) => box.value));

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null && text !== "") node.textContent = String(text);
    return node;
  }

  function basisLabel(basis) {
    if (basisLabels[basis]) return basisLabels[basis];
    if (basis.startsWith("UNKNOWN_")) return "basis not recognised (code " + basis.slice(8) + ")";
    return basis.toLowerCase().replace(/_/g, " ");
  }

  // The service's wording where it sent one; else worded here from the basis, as the client
  // library does. A basis this page does not know is named under the date.
  function designated(entity) {
    const cell = el("td", "designated");
    if (!entity.dd) {
      cell.textContent = "unknown";
      return cell;
    }
    const basis = entity.db || "UNSPECIFIED";
    const known = Object.prototype.hasOwnProperty.call(basisLabels, basis);
    cell.append(entity.ds || (known ? basisLabels[basis] : basisLabels.UNSPECIFIED) + " " + entity.dd);
    if (!known) cell.append(el("br"), el("small", "basis", basisLabel(basis)));
    return cell;
  }

  function hitsTable(hits) {
    const table = el("table", "hits");
    const head = table.createTHead().insertRow();
    for (const title of ["list", "entry", "score", "programs", "designated", "explanation"]) {
      head.append(el("th", "", title));
    }
    const body = table.createTBody();
    for (const hit of hits) {
      const entity = entities[hit.e];
      const tr = body.insertRow();
      const list = el("td", "", entity.src);
      if (entity.sref) list.append(el("br"), el("small", "", entity.sref));
      const entry = el("td");
      entry.append(el("b", "", entity.n));
      if (hit.p) entry.append(el("br"), el("small", "", "for " + hit.p));
      if (hit.mn) entry.append(el("br"), el("small", "", "matched: " + hit.mn));
      entry.append(el("br"), el("small", "entity", entity.id));
      const explain = el("ul", "explain");
      for (const [feature, contribution, detail] of hit.x === undefined ? [] : explanations[hit.x]) {
        const li = el("li");
        const sign = contribution >= 0 ? "+" : "";
        li.append(el("span", contribution >= 0 ? "plus" : "minus", sign + contribution.toFixed(2)));
        li.append(" " + feature + (detail ? ": " + detail : ""));
        explain.append(li);
      }
      const explanation = el("td");
      explanation.append(explain);
      tr.append(
        list,
        entry,
        el("td", "num", Number(hit.sc).toFixed(2)),
        el("td", "", (entity.pg || []).join(", ")),
        designated(entity),
        explanation,
      );
    }
    return table;
  }

  function section(row) {
    const node = el("section", "row");
    node.id = "row-" + row.r;
    node.dataset.decision = row.d;
    const title = el("h3");
    const anchor = el("a", "anchor", "#" + row.r);
    anchor.href = "#row-" + row.r;
    const details = [];
    if (row.ref) details.push("ref " + row.ref);
    if (row.s) details.push("risk " + row.s);
    if (row.h) details.push(row.h.length + (row.h.length === 1 ? " hit" : " hits"));
    title.append(anchor, " ", el("span", "badge " + row.d, row.d), " ");
    title.append(el("span", "name", row.n || "(no name)"));
    if (details.length) title.append(" ", el("small", "", details.join(" · ")));
    node.append(title);
    if (row.e) {
      node.append(el("p", "error", row.e.c + ": " + row.e.m));
      if (row.e.v && row.e.v.length) {
        const list = el("ul", "violations");
        for (const [field, description] of row.e.v) list.append(el("li", "", field + ": " + description));
        node.append(list);
      }
    }
    if (row.f) {
      const list = el("ul", "findings");
      for (const [severity, code, message] of row.f) {
        const li = el("li");
        li.append(el("b", "", severity), " " + code + ": " + message);
        list.append(li);
      }
      node.append(list);
    }
    if (row.h) node.append(hitsTable(row.h));
    return node;
  }

  function haystack(i) {
    if (haystacks === null) {
      haystacks = rows.map((row) => {
        const parts = ["#" + row.r, row.n, row.ref, row.d];
        for (const hit of row.h || []) {
          const entity = entities[hit.e];
          parts.push(entity.id, entity.src, entity.sref, entity.n, hit.mn, hit.p, ...(entity.pg || []));
        }
        for (const finding of row.f || []) parts.push(finding[1], finding[2]);
        if (row.e) parts.push(row.e.c, row.e.m);
        return parts.filter(Boolean).join("\n").toLowerCase();
      });
    }
    return haystacks[i];
  }

  function shown(i) {
    return decisions.has(rows[i].d) && (query === "" || haystack(i).includes(query));
  }

  function build(upTo) {
    const end = Math.min(upTo, rows.length);
    if (sections.length >= end) return;
    const fragment = document.createDocumentFragment();
    for (let i = sections.length; i < end; i++) {
      const node = section(rows[i]);
      node.hidden = !shown(i);
      sections.push(node);
      fragment.append(node);
    }
    main.append(fragment);
  }

  // The rest in slices of about SLICE_MS, yielding in between (a message, not a timer: timers
  // are clamped, and throttled in background tabs) so that input is handled meanwhile.
  const yielder = new MessageChannel();
  yielder.port1.onmessage = buildRest;
  function buildRest() {
    const until = performance.now() + SLICE_MS;
    while (sections.length < rows.length && performance.now() < until) build(sections.length + 25);
    if (sections.length < rows.length) {
      yielder.port2.postMessage(null);
    } else {
      document.body.dataset.rendered = "all";
    }
  }

  function applyFilter() {
    decisions = new Set(boxes.filter((box) => box.checked).map((box) => box.value));
    query = search.value.trim().toLowerCase();
    let count = 0;
    for (let i = 0; i < rows.length; i++) {
      const visible = shown(i);
      if (visible) count++;
      if (i < sections.length) sections[i].hidden = !visible;
    }
    shownLabel.textContent = count + " of " + rows.length + " " + noun;
    document.body.dataset.shown = String(count);
    document.body.dataset.query = query;
  }

  // Scrolls to #row-N: builds up to it if need be, and clears a filter that hides it.
  function goTo(hash) {
    const match = /^#row-(\d+)$/.exec(hash);
    const i = match ? indexOfRow.get(Number(match[1])) : undefined;
    if (i === undefined) return;
    build(i + 1);
    const node = sections[i];
    if (node.hidden) {
      search.value = "";
      for (const box of boxes) box.checked = true;
      applyFilter();
    }
    for (const old of main.querySelectorAll(".row.target")) old.classList.remove("target");
    node.classList.add("target");
    settle(node, 8);
  }

  // Rows drawn near the target on the way there take their real heights only then (their
  // content is skipped until on screen), which moves it: scroll again until it stays put.
  function settle(node, frames) {
    const before = node.getBoundingClientRect().top;
    node.scrollIntoView({ block: "start" });
    requestAnimationFrame(() => {
      if (frames > 1 && node.getBoundingClientRect().top !== before) settle(node, frames - 1);
    });
  }

  let typing = 0;
  search.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(applyFilter, 120);
  });
  for (const box of boxes) box.addEventListener("change", applyFilter);
  for (const button of document.querySelectorAll("button.only")) {
    button.addEventListener("click", () => {
      for (const box of boxes) box.checked = box.value === button.dataset.decision;
      applyFilter();
      document.getElementById("controls").scrollIntoView({ block: "start" });
    });
  }
  window.addEventListener("hashchange", () => goTo(location.hash));

  build(FIRST);
  applyFilter();
  if (location.hash) goTo(location.hash);
  yielder.port2.postMessage(null);
})();

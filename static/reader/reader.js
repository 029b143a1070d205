// The reader: paged (RTL or LTR) and strip modes, original/translated toggle, compare slider,
// keyboard and swipe navigation, position saved to the server, and pages swapped in live
// from the job's WebSocket (resuming after the last sequence number it saw).
"use strict";
(function () {
  const data = JSON.parse(document.getElementById("reader-data").textContent);
  const S = data.strings;
  const root = document.getElementById("reader");
  const container = document.getElementById("pages");
  const figures = Array.from(container.querySelectorAll(".page"));
  const pages = data.pages;
  const statusLine = document.getElementById("reader-status");
  const counter = root.querySelector(".page-counter");
  const csrfInput = root.querySelector("input[name=csrfmiddlewaretoken]");
  const csrf = csrfInput ? csrfInput.value : "";
  const range = document.getElementById("compare-range");
  let mode = data.mode;
  let direction = data.direction;
  let current = Math.max(0, Math.min(pages.length - 1, data.start - 1));
  let showOriginal = false;
  let comparing = false;

  function fmt(template, values) {
    return template.replace(/%\((\w+)\)s/g, (_, key) => String(values[key]));
  }
  function say(text) { statusLine.textContent = text; }
  function button(action) { return root.querySelector(`[data-action="${action}"]`); }
  function imageUrl(page) { return !showOriginal && page.out ? page.out : page.raw; }

  // --- Pages and their states -------------------------------------------------------------
  function renderPage(i) {
    const page = pages[i];
    const figure = figures[i];
    figure.dataset.state = page.state;
    const img = figure.querySelector("img.main");
    const url = imageUrl(page);
    if (img.getAttribute("src") !== url) img.setAttribute("src", url);
    const badge = figure.querySelector(".badge");
    badge.dataset.state = page.state;
    badge.textContent = S[page.state] || page.state;
    const failure = figure.querySelector(".failure");
    failure.hidden = page.state !== "failed";
    failure.textContent = page.error || "";
    const retry = figure.querySelector(".retry-page");
    if (retry) retry.hidden = page.state !== "failed";
  }
  function renderAll() { pages.forEach((_, i) => renderPage(i)); }

  figures.forEach((figure, i) => {
    figure.querySelector("img.main").addEventListener("error", () => {
      // An image that does not load is shown as failed, never as a broken picture.
      if (pages[i].state !== "failed") {
        pages[i].state = "failed";
        pages[i].error = S.failed;
        renderPage(i);
      }
    });
  });

  // --- Modes ---------------------------------------------------------------------------------
  function applyMode(scroll) {
    container.classList.toggle("paged", mode === "paged");
    container.classList.toggle("strip", mode === "strip");
    container.setAttribute("dir", direction);
    root.querySelectorAll("[data-action=mode]").forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.mode === mode)));
    button("direction").setAttribute("aria-pressed", String(direction === "rtl"));
    if (mode !== "paged" && comparing) setCompare(false);
    show(current, false);
    if (mode === "strip" && scroll) figures[current].scrollIntoView({ block: "start" });
  }

  function show(i, save) {
    current = Math.max(0, Math.min(pages.length - 1, i));
    figures.forEach((figure, j) => figure.classList.toggle("current", j === current));
    counter.textContent = fmt(S.page_of, { page: current + 1, total: pages.length });
    if (mode === "paged") {
      preload(current + 1);
      preload(current + 2);
      if (comparing) loadCompare();
    }
    if (save !== false) savePosition();
  }
  function preload(i) {
    if (i < pages.length) new Image().src = imageUrl(pages[i]);
  }

  function step(delta) {
    if (mode === "strip") {
      window.scrollBy({ top: delta * window.innerHeight * 0.9, behavior: "smooth" });
      return;
    }
    const target = current + delta;
    if (target >= pages.length || target < 0) {
      const link = document.querySelector(`[data-nav="${target < 0 ? "previous" : "next"}"]`);
      if (link) window.location.href = link.href;
      return;
    }
    show(target);
    window.scrollTo({ top: 0 });
  }
  // In right-to-left reading the next page is to the left.
  function stepLeft() { step(direction === "rtl" ? 1 : -1); }
  function stepRight() { step(direction === "rtl" ? -1 : 1); }

  // --- Toggle and compare -----------------------------------------------------------------------
  function toggleOriginal() {
    showOriginal = !showOriginal;
    button("toggle").setAttribute("aria-pressed", String(showOriginal));
    renderAll();
  }
  function loadCompare() {
    const img = figures[current].querySelector("img.compare");
    if (!img.getAttribute("src")) img.setAttribute("src", img.dataset.src);
  }
  function setCompare(on) {
    comparing = on;
    root.classList.toggle("comparing", on);
    button("compare").setAttribute("aria-pressed", String(on));
    if (on) {
      if (mode !== "paged") { mode = "paged"; applyMode(false); }
      loadCompare();
    }
  }
  range.addEventListener("input", () => container.style.setProperty("--split", `${range.value}%`));

  function toggleFullscreen() {
    if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
    else if (root.requestFullscreen) root.requestFullscreen().catch(() => {});
  }

  // --- Input --------------------------------------------------------------------------------------
  root.addEventListener("click", (event) => {
    const target = event.target.closest("[data-action]");
    if (!target) return;
    const action = target.dataset.action;
    if (action === "mode") { mode = target.dataset.mode; applyMode(true); savePosition(); }
    else if (action === "direction") { direction = direction === "rtl" ? "ltr" : "rtl"; applyMode(false); savePosition(); }
    else if (action === "toggle") toggleOriginal();
    else if (action === "compare") setCompare(!comparing);
    else if (action === "fullscreen") toggleFullscreen();
    else if (action === "retry-page") retry(target.dataset.url, [figures.indexOf(target.closest(".page"))]);
    else if (action === "retry-failed") retry(data.job.retry_failed_url, pages.map((p, i) => (p.state === "failed" ? i : -1)).filter((i) => i >= 0));
  });
  const langSelect = document.getElementById("lang-select");
  if (langSelect) langSelect.addEventListener("change", () => { window.location.search = langSelect.value; });

  document.addEventListener("keydown", (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    if (event.target.closest("input, select, textarea")) return;
    const key = event.key;
    if (key === "ArrowLeft") { event.preventDefault(); stepLeft(); }
    else if (key === "ArrowRight") { event.preventDefault(); stepRight(); }
    else if (key === " " && mode === "paged") { event.preventDefault(); step(event.shiftKey ? -1 : 1); }
    else if (key === "t") toggleOriginal();
    else if (key === "f") toggleFullscreen();
  });

  let touch = null;
  container.addEventListener("touchstart", (event) => {
    if (event.touches.length === 1) touch = { x: event.touches[0].clientX, y: event.touches[0].clientY };
  }, { passive: true });
  container.addEventListener("touchend", (event) => {
    if (!touch || mode !== "paged") return;
    const dx = event.changedTouches[0].clientX - touch.x;
    const dy = event.changedTouches[0].clientY - touch.y;
    touch = null;
    if (Math.abs(dx) < 50 || Math.abs(dx) < Math.abs(dy) * 1.5) return;
    // Swiping left pulls in the page on the right.
    if (dx < 0) stepRight(); else stepLeft();
  });

  if ("IntersectionObserver" in window) {
    const observer = new IntersectionObserver((entries) => {
      if (mode !== "strip") return;
      const visible = entries.filter((e) => e.isIntersecting).sort((a, b) => b.intersectionRatio - a.intersectionRatio)[0];
      if (visible) {
        const i = figures.indexOf(visible.target);
        if (i !== current) show(i);
      }
    }, { threshold: [0.25, 0.5] });
    figures.forEach((figure) => observer.observe(figure));
  }

  // --- Position, remembered server side ------------------------------------------------------------
  let saveTimer = null;
  function savePosition() {
    if (!data.save_url) return;
    clearTimeout(saveTimer);
    saveTimer = setTimeout(() => {
      fetch(data.save_url, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
        body: JSON.stringify({ page: current + 1, mode: mode, direction: direction }),
      }).catch(() => {});
    }, 600);
  }

  // --- Staff: retry -----------------------------------------------------------------------------------
  function retry(url, indexes) {
    fetch(url, { method: "POST", headers: { Accept: "application/json", "X-CSRFToken": csrf } })
      .then((response) => response.json())
      .then((answer) => {
        say(answer.message || "");
        if (!answer.ok) return;
        indexes.forEach((i) => { pages[i].state = "pending"; pages[i].error = ""; renderPage(i); });
        const all = button("retry-failed");
        if (all) all.hidden = true;
        live.start();
      })
      .catch(() => say(S.live_lost));
  }

  // --- Live pages from the job's WebSocket ---------------------------------------------------------
  const live = {
    socket: null,
    seq: data.job ? data.job.seq : 0,
    delay: 500,
    start() {
      if (!data.job || this.socket) return;
      const scheme = window.location.protocol === "https:" ? "wss" : "ws";
      const socket = new WebSocket(`${scheme}://${window.location.host}${data.job.ws}?after=${this.seq}`);
      this.socket = socket;
      socket.addEventListener("open", () => { this.delay = 500; });
      socket.addEventListener("message", (event) => this.handle(JSON.parse(event.data)));
      socket.addEventListener("close", () => {
        this.socket = null;
        if (this.finished) return;
        say(S.live_lost);
        setTimeout(() => this.start(), this.delay);
        this.delay = Math.min(this.delay * 2, 10000);
      });
    },
    handle(message) {
      if (typeof message.seq === "number") {
        if (message.seq <= this.seq && message.type !== "snapshot") return; // seen before a reconnect
        this.seq = Math.max(this.seq, message.seq);
      }
      const d = message.data || {};
      const i = typeof d.page === "number" ? d.page - 1 : -1;
      const page = pages[i];
      if (message.type === "job.queued") {
        this.finished = false;
        (d.pages || []).forEach((n) => { if (pages[n - 1]) { pages[n - 1].state = "pending"; renderPage(n - 1); } });
      } else if (message.type === "page.started" && page) {
        page.state = "running";
        renderPage(i);
      } else if (message.type === "page.succeeded" && page) {
        const translated = d.status === "succeeded";
        page.state = translated ? (data.job.cleaning ? "cleaning" : "translated") : "no_text";
        page.out = translated && page.out_base ? `${page.out_base}?v=${message.seq}` : "";
        page.error = "";
        renderPage(i);
      } else if (message.type === "page.failed" && page) {
        page.state = "failed";
        page.error = `${d.failure_stage}: ${d.error}`;
        page.out = "";
        renderPage(i);
      } else if (message.type === "job.finished") {
        this.finished = true;
        say("");
        const all = button("retry-failed");
        if (all) all.hidden = !(d.pages_failed > 0);
        if (this.socket) this.socket.close();
      }
    },
  };

  renderAll();
  applyMode(true);
  if (data.job && data.job.active) live.start();
})();

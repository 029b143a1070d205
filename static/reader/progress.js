// Live progress of the manga page's running jobs: one WebSocket per job (/ws/jobs/<id>/), a
// snapshot first, then events; on a reconnect it resumes after the last sequence number seen.
"use strict";
(function () {
  const stringsNode = document.getElementById("progress-strings");
  if (!stringsNode) return;
  const S = JSON.parse(stringsNode.textContent);
  const DONE = ["succeeded", "no_text", "failed", "cancelled"];

  function fmt(template, values) {
    return template.replace(/%\((\w+)\)s/g, (_, key) => String(values[key]));
  }

  function watch(box) {
    const jobId = box.dataset.job;
    const labels = box.dataset.cleaning === "1" ? S.cleaning : S.translate;
    const statusNode = box.querySelector(".job-status");
    const countsNode = box.querySelector(".job-counts");
    const liveNode = box.querySelector(".job-live");
    const bar = box.querySelector(".job-progress");
    const percentNode = box.querySelector(".job-percent");
    const stageNode = box.querySelector(".job-stage");
    const pages = new Map(); // page index → status
    let total = Number(box.dataset.total) || 0;
    let seq = null;
    let finished = false;
    let delay = 500;
    let current = null;

    function render(status) {
      const values = Array.from(pages.values());
      const done = values.filter((s) => DONE.includes(s)).length;
      const succeeded = values.filter((s) => s === "succeeded").length;
      const noText = values.filter((s) => s === "no_text").length;
      const failed = values.filter((s) => s === "failed").length;
      const percent = total ? Math.round((100 * done) / total) : 0;
      bar.value = percent;
      bar.textContent = `${percent}%`;
      percentNode.textContent = `${percent}%`;
      const parts = [`${succeeded}/${total}`];
      if (noText) parts.push(fmt(S.no_text, { n: noText }));
      if (failed) parts.push(fmt(S.failed, { n: failed }));
      countsNode.textContent = parts.join(", ");
      if (status) {
        statusNode.textContent = labels[status] || status;
        statusNode.className = `job-status state-${status}`;
      }
      const active = status === "queued" || status === "running";
      const cancel = box.querySelector(".job-cancel");
      if (cancel) cancel.hidden = !active;
      const retry = box.querySelector(".job-retry");
      if (retry) retry.hidden = active || failed === 0;
      box.querySelector(".job-downloads").hidden = active;
    }

    function handle(message) {
      const d = message.data || {};
      if (message.type === "snapshot") {
        total = d.pages_total;
        pages.clear();
        d.pages.forEach((p) => pages.set(p.page, p.status));
        seq = message.seq;
        render(d.status);
        return;
      }
      if (typeof message.seq === "number") {
        if (seq !== null && message.seq <= seq) return;
        seq = message.seq;
      }
      if (message.type === "job.queued") (d.pages || []).forEach((n) => pages.set(n, "pending"));
      else if (message.type === "job.started") render("running");
      else if (message.type === "page.started") { pages.set(d.page, "running"); current = d.page; stageNode.textContent = fmt(S.page_stage, { page: d.page, stage: "start" }); }
      else if (message.type === "page.stage") { current = d.page; stageNode.textContent = fmt(S.page_stage, { page: d.page, stage: d.stage }); }
      else if (message.type === "page.succeeded") pages.set(d.page, d.status);
      else if (message.type === "page.failed") pages.set(d.page, "failed");
      else if (message.type === "job.finished") {
        finished = true;
        stageNode.textContent = "";
        render(d.status);
        liveNode.dataset.finished = "1";
        return;
      }
      render(null);
    }

    function connect() {
      const scheme = window.location.protocol === "https:" ? "wss" : "ws";
      const query = seq === null ? "" : `?after=${seq}`;
      const socket = new WebSocket(`${scheme}://${window.location.host}/ws/jobs/${jobId}/${query}`);
      socket.addEventListener("open", () => { delay = 500; });
      socket.addEventListener("message", (event) => {
        handle(JSON.parse(event.data));
        if (finished) socket.close();
      });
      socket.addEventListener("close", () => {
        if (finished) return;
        setTimeout(connect, delay);
        delay = Math.min(delay * 2, 10000);
      });
    }
    connect();
  }

  document.querySelectorAll(".job[data-active='1']").forEach(watch);
})();

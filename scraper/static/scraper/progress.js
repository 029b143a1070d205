// Live progress of one download (/ws/downloads/<id>/), then of the translation job it chained (/ws/jobs/<id>/).
// The server sends a snapshot, then events in order; on a dropped socket we reconnect with ?after=<seq>.
(function () {
  "use strict";
  const root = document.getElementById("download");
  if (!root) return;
  const $ = (id) => document.getElementById(id);
  const FINAL = ["success", "partial", "error", "cancelled"];
  const scheme = location.protocol === "https:" ? "wss://" : "ws://";

  function follow(path, onMessage) {
    let seq = null;
    let closedByUs = false;
    function open() {
      const query = seq === null ? "" : "?after=" + seq;
      const socket = new WebSocket(scheme + location.host + path + query);
      socket.onmessage = (message) => {
        const event = JSON.parse(message.data);
        if (typeof event.seq === "number") seq = event.seq;
        if (onMessage(event) === "done") {
          closedByUs = true;
          socket.close();
        }
      };
      socket.onclose = () => {
        if (!closedByUs) setTimeout(open, 1000);
      };
    }
    open();
  }

  function setPage(index, status, error) {
    const row = document.querySelector('#pages tr[data-page="' + index + '"]');
    if (!row) {
      const tr = document.createElement("tr");
      tr.dataset.page = index;
      tr.innerHTML = '<td></td><td class="page-status"></td><td class="page-error"></td>';
      tr.firstChild.textContent = index;
      $("pages").appendChild(tr);
      return setPage(index, status, error);
    }
    row.querySelector(".page-status").textContent = status;
    row.querySelector(".page-error").textContent = error || "";
  }

  function showDownload(data) {
    $("download-status").textContent = data.status;
    $("download-status").className = "status-" + data.status;
    $("download-pages").textContent = data.pages_stored + "/" + data.pages_total;
    if (data.error) {
      $("download-error").hidden = false;
      $("download-error-code").textContent = data.error_code || "";
      $("download-error-text").textContent = data.error;
    }
    if (data.chapter) {
      $("library").hidden = false;
      $("library-link").textContent = "chapter " + data.chapter;
      $("library-link").href = "/admin/translations/chapter/" + data.chapter + "/change/";
    }
    if (data.translation_job && !root.dataset.following) followJob(data.translation_job);
  }

  let stored = 0;
  function onDownload(event) {
    const data = event.data || {};
    if (event.type === "snapshot") {
      stored = data.pages_stored;
      (data.pages || []).forEach((page) => setPage(page.page, page.status, page.error));
      showDownload(data);
      return FINAL.includes(data.status) && !data.translation_job ? "done" : undefined;
    }
    if (event.type === "download.page_stored") {
      stored += 1;
      setPage(data.page, "stored", "");
      $("download-pages").textContent = stored + "/" + $("download-pages").textContent.split("/")[1];
    } else if (event.type === "download.page_failed") {
      setPage(data.page, "failed", data.error_code + " " + data.error);
    } else if (event.type === "download.started") {
      stored = data.pages_stored;
      $("download-status").textContent = "running";
    } else if (event.type === "download.queued") {
      $("download-status").textContent = "queued";
    } else if (event.type === "download.finished") {
      showDownload(data);
      return "done";
    }
    return undefined;
  }

  function followJob(jobId) {
    root.dataset.following = "1";
    $("translation").hidden = false;
    $("job-id").textContent = jobId;
    follow("/ws/jobs/" + jobId + "/", (event) => {
      const data = event.data || {};
      if (event.type === "snapshot" || event.type === "job.finished") {
        $("job-status").textContent = data.status;
        const done = (data.pages_succeeded || 0) + (data.pages_no_text || 0);
        $("job-pages").textContent = done + "/" + data.pages_total + " pages translated";
        if (FINAL.includes(data.status)) return "done";
      } else if (event.type === "job.started") {
        $("job-status").textContent = "running";
      } else if (event.type === "page.succeeded" || event.type === "page.failed") {
        $("job-pages").textContent = event.type.replace("page.", "page " + data.page + " ");
      }
      return undefined;
    });
  }

  follow("/ws/downloads/" + root.dataset.download + "/", onDownload);
  if (root.dataset.job) followJob(root.dataset.job);
})();

// Chapter uploads with a progress bar: the form is sent by XMLHttpRequest (fetch has no upload
// progress); refusals come back as JSON and are shown beside the field. Without JavaScript the
// form posts normally.
"use strict";
(function () {
  document.querySelectorAll("form.upload-form").forEach((form) => {
    const bar = form.querySelector(".upload-progress");
    const statusNode = form.querySelector(".upload-status");
    const submit = form.querySelector("button[type=submit]");
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      form.querySelectorAll(".field-error").forEach((node) => { node.textContent = ""; });
      const request = new XMLHttpRequest();
      request.open("POST", form.action);
      request.setRequestHeader("Accept", "application/json");
      request.upload.addEventListener("progress", (e) => {
        if (e.lengthComputable) bar.value = Math.round((100 * e.loaded) / e.total);
      });
      request.addEventListener("load", () => {
        submit.disabled = false;
        let answer = {};
        try { answer = JSON.parse(request.responseText); } catch (error) { answer = { message: request.statusText }; }
        statusNode.textContent = answer.message || "";
        if (answer.ok) {
          bar.value = 100;
          window.location.href = answer.redirect || window.location.href;
          return;
        }
        Object.entries(answer.errors || {}).forEach(([field, messages]) => {
          const node = form.querySelector(`.field-error[data-field="${field}"]`) || statusNode;
          node.textContent = messages.join(" ");
        });
      });
      request.addEventListener("error", () => { submit.disabled = false; statusNode.textContent = form.dataset.failedText; });
      bar.hidden = false;
      bar.value = 0;
      submit.disabled = true;
      request.send(new FormData(form));
    });
  });
})();

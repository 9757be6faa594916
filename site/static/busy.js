// Busy buttons: a form with data-busy="Charging…" shows that its request
// is running. On submit its button is disabled, marked aria-busy and says
// the data-busy text; a second submit of the form (a double click, Enter
// pressed again) is ignored, so one click sends one request. Without
// JavaScript the form works as before. Coming back to the page with the
// browser's Back button restores the button.
"use strict";
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-busy") || event.defaultPrevented) {
    return;
  }
  if (form.dataset.busySent === "yes") {
    event.preventDefault();
    return;
  }
  form.dataset.busySent = "yes";
  form.setAttribute("aria-busy", "true");
  const button = event.submitter || form.querySelector("button[type=submit], button:not([type])");
  if (!button) {
    return;
  }
  button.dataset.busyIdle = button.textContent;
  button.textContent = form.dataset.busy;
  button.setAttribute("aria-busy", "true");
  // Disabled after the browser has read the form: a disabled submit
  // button would leave its own name and value out of the request.
  setTimeout(() => { button.disabled = true; }, 0);
});

window.addEventListener("pageshow", (event) => {
  if (!event.persisted) {
    return;
  }
  for (const form of document.querySelectorAll("form[data-busy][data-busy-sent]")) {
    delete form.dataset.busySent;
    form.removeAttribute("aria-busy");
    for (const button of form.querySelectorAll("[data-busy-idle]")) {
      button.textContent = button.dataset.busyIdle;
      delete button.dataset.busyIdle;
      button.removeAttribute("aria-busy");
      button.disabled = false;
    }
  }
});

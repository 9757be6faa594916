// Copy buttons: a button with data-copy="<id>" copies the text of the
// element with that id to the clipboard. The buttons are hidden until this
// script shows them, so a page without JavaScript offers no dead button.
"use strict";
for (const button of document.querySelectorAll("button[data-copy]")) {
  const source = document.getElementById(button.dataset.copy);
  if (!source || !navigator.clipboard) continue;
  button.hidden = false;
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(source.textContent.trim());
      button.textContent = "Copied";
    } catch {
      button.textContent = "Select and copy it";
    }
    setTimeout(() => { button.textContent = "Copy"; }, 2000);
  });
}

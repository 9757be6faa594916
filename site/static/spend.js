// Spend Management: the fields under the switch apply only while it is on.
// The server renders them disabled when the saved switch is off; this
// script follows the switch as it is flipped. Without it the form still
// works: disabled fields are not sent, and the server keeps their saved
// values.
"use strict";
const spendSwitch = document.getElementById("enabled");
if (spendSwitch) {
  spendSwitch.addEventListener("change", () => {
    for (const field of document.querySelectorAll("[data-spend-field]")) {
      field.disabled = !spendSwitch.checked;
    }
  });
}

// Add New Credit Card with Stripe Elements: the card goes from the browser
// to Stripe (a SetupIntent); our servers only ever see the resulting
// payment method id, through Stripe's webhook and API.
(function () {
  "use strict";
  var form = document.getElementById("card-form");
  if (!form || typeof Stripe !== "function") {
    return;
  }
  var stripe = Stripe(form.dataset.stripeKey);
  var elements = stripe.elements();
  var card = elements.create("card", { hidePostalCode: false });
  var errors = document.getElementById("card-errors");
  card.mount("#card-element");
  card.on("change", function (event) {
    errors.textContent = event.error ? event.error.message : "";
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var button = form.querySelector("button[type=submit]");
    button.disabled = true;
    stripe
      .confirmCardSetup(form.dataset.clientSecret, {
        payment_method: {
          card: card,
          billing_details: { name: document.getElementById("card-name").value },
        },
      })
      .then(function (result) {
        if (result.error) {
          errors.textContent = result.error.message;
          button.disabled = false;
          return;
        }
        // Back to Add Usage Credits with the new card chosen, or to
        // Payment Methods saying it is saved.
        var back = form.dataset.returnUrl;
        var card = result.setupIntent && result.setupIntent.payment_method;
        if (back === "/billing/credits" && typeof card === "string") {
          window.location.assign(back + "?method=" + encodeURIComponent(card));
          return;
        }
        window.location.assign("/billing/payment-methods?added=1");
      });
  });
})();

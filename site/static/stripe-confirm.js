// Finishes a card payment that needs 3-D Secure: Stripe.js shows the
// bank's check, then the browser returns to the page that credits it.
(function () {
  "use strict";
  var el = document.getElementById("confirm-payment");
  if (!el || typeof Stripe !== "function") {
    return;
  }
  var stripe = Stripe(el.dataset.stripeKey);
  var errors = document.getElementById("payment-errors");
  stripe.confirmCardPayment(el.dataset.clientSecret).then(function (result) {
    if (result.error) {
      errors.textContent = result.error.message + " Nothing was charged.";
      return;
    }
    window.location.assign(el.dataset.returnUrl + "?payment_intent=" + encodeURIComponent(result.paymentIntent.id));
  });
})();

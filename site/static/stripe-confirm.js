// Finishes a card payment the bank wants confirmed (3-D Secure): the
// server has confirmed the PaymentIntent, so Stripe.js's handleNextAction
// shows the bank's check, then the browser returns to the page that
// credits it (/billing/credits/complete, which reads the payment's state).
(function () {
  "use strict";
  var el = document.getElementById("confirm-payment");
  if (!el || typeof Stripe !== "function") {
    return;
  }
  var stripe = Stripe(el.dataset.stripeKey);
  var errors = document.getElementById("payment-errors");
  stripe.handleNextAction({ clientSecret: el.dataset.clientSecret }).then(function (result) {
    if (result.error) {
      errors.textContent = result.error.message + " Nothing was charged.";
      return;
    }
    window.location.assign(el.dataset.returnUrl + "?payment_intent=" + encodeURIComponent(result.paymentIntent.id));
  });
})();

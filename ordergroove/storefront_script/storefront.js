/* Ordergroove for BigCommerce: the storefront script (issue 13, DECISIONS §4).
 *
 * Plain JavaScript, no build step, no framework. The app installs it through BigCommerce's Scripts API; the
 * store's configuration arrives as data-og-* attributes of the registered <script> tag, so no theme setting is
 * needed. It does what seed 002 asks a theme developer to add by hand:
 *   - og_auth: the Ordergroove auth cookie ("customer_id|ts|signature", secure, path /, 2 days) for a logged-in
 *     shopper, signed by the service's signature endpoint; refreshed after an hour (Ordergroove accepts two),
 *     deleted when nobody is logged in; nothing for guests.
 *   - the payment-methods page: deleting the default stored card of an active subscriber is blocked;
 *   - the Subscription Manager page (<div id="og-msi"> + <STATIC_DOMAIN>/<MERCHANT_ID>/msi.js), guests sent to
 *     log in and back; a "Subscriptions" link in the My Account navigation;
 *   - checkout guards for a cart holding a subscription item.
 * Fails safe: any error is logged to the browser console once and the page is left as the theme made it.
 */
(function (window, document) {
  'use strict';

  var tag = document.currentScript || document.querySelector('script[data-og-app]');
  if (!tag || window.__ogStorefrontLoaded) { return; }
  window.__ogStorefrontLoaded = true;

  var REFRESH_AFTER_SECONDS = 3600; // Ordergroove accepts an og_auth signature for two hours
  var COOKIE_DAYS = 2; // seed 002's setCookie('og_auth', value, 2)
  // Payment method ids (checkout-js radio values) that cannot store a card for recurring charges: wallets,
  // buy-now-pay-later and offline methods. Seed 002: "block PayPal, Amazon, etc."
  var NON_VAULTING = /paypal|venmo|amazon|applepay|googlepay|klarna|afterpay|clearpay|affirm|zip|sezzle|bolt|cod|cheque|moneyorder|bankdeposit|instore|offline|bitcoin|coinbase/i;

  var logged = false;
  function logOnce(message, error) {
    if (logged) { return; }
    logged = true;
    if (window.console && window.console.error) { window.console.error('[Ordergroove] ' + message, error || ''); }
  }

  function data(name) { return tag.getAttribute('data-og-' + name) || ''; }
  function parseList(text) {
    try { var list = JSON.parse(text || '[]'); return Object.prototype.toString.call(list) === '[object Array]' ? list : []; } catch (e) { return []; }
  }
  var cfg = {
    app: data('app').replace(/\/+$/, ''),
    client: data('client'),
    merchant: data('merchant'),
    staticDomain: data('static').replace(/\/+$/, ''),
    features: ' ' + data('features') + ' ',
    msiPath: data('msi-path'),
    msiTitle: data('msi-title') || 'Subscriptions',
    oneTime: parseList(data('one-time')).map(function (v) { return String(v).trim().toLowerCase(); })
  };
  function enabled(feature) { return cfg.features.indexOf(' ' + feature + ' ') >= 0; }
  function now() { return Math.round(Date.now() / 1000); }

  // --- The shopper: BigCommerce's Current Customer JWT (same origin; 404 for a guest), once per page view ---
  var whoPromise = null;
  function decodeClaims(token) {
    var part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    while (part.length % 4) { part += '='; }
    return JSON.parse(window.atob(part));
  }
  function currentCustomer() {
    if (!whoPromise) {
      whoPromise = window.fetch('/customer/current.jwt?app_client_id=' + encodeURIComponent(cfg.client), {
        credentials: 'same-origin', headers: { Accept: 'application/json' }
      }).then(function (response) {
        if (response.status === 404) { return null; } // not logged in
        if (!response.ok) { throw new Error('current.jwt answered ' + response.status); }
        return response.text().then(function (text) {
          var token = text.trim();
          return { token: token, customerId: String(decodeClaims(token).customer.id) };
        });
      });
    }
    return whoPromise;
  }

  function serviceGet(path, token) {
    // The headers of seed 002's theme code; the service answers CORS for the store's storefront origins.
    return window.fetch(cfg.app + path, {
      credentials: 'omit',
      headers: { Accept: 'application/json', 'authorization-client': cfg.client, Authorization: 'BigCommerce',
                 'signed-payload': token }
    }).then(function (response) {
      if (!response.ok) { throw new Error(path.split('?')[0] + ' answered ' + response.status); }
      return response.json();
    });
  }

  // --- og_auth -------------------------------------------------------------------------------------------------
  function readCookie() {
    var match = document.cookie.match(/(?:^|;\s*)og_auth=([^;]*)/);
    return match ? match[1] : '';
  }
  function writeCookie(value) {
    var expires = new Date(Date.now() + COOKIE_DAYS * 864e5);
    document.cookie = 'og_auth=' + value + ';expires=' + expires.toUTCString() + ';secure ;path=/';
  }
  function deleteCookie() {
    if (readCookie()) { document.cookie = 'og_auth=;expires=Thu, 01 Jan 1970 00:00:01 GMT;secure ;path=/'; }
  }
  function cookieAge(customerId) {
    var parts = readCookie().split('|');
    if (parts.length !== 3 || parts[0] !== customerId) { return null; }
    var age = now() - parseInt(parts[1], 10);
    return age >= -300 && age < REFRESH_AFTER_SECONDS ? age : null; // a clock far ahead counts as stale
  }
  var signing = null;
  var refreshTimer = null;
  function scheduleRefresh(age) {
    // A page left open past the hour signs again before Ordergroove's two hours run out.
    if (refreshTimer) { return; }
    refreshTimer = window.setTimeout(function () {
      whoPromise = null; signing = null; refreshTimer = null;
      currentCustomer().then(ensureOgAuth).catch(function (error) { logOnce('og_auth refresh failed', error); });
    }, Math.max(REFRESH_AFTER_SECONDS - age, 60) * 1000);
  }
  function ensureOgAuth(who) {
    if (!who) { deleteCookie(); return Promise.resolve(false); }
    var age = cookieAge(who.customerId);
    if (age !== null) { scheduleRefresh(age); return Promise.resolve(true); } // fresh: no call at all
    if (!signing) {
      var ts = now();
      signing = serviceGet('/api/v1/merchant/ordergroove/signature?ts=' + ts, who.token).then(function (body) {
        var signature = decodeURIComponent((body && body.data) || '');
        if (!signature) { throw new Error('the signature endpoint answered no signature'); }
        writeCookie(who.customerId + '|' + ts + '|' + signature);
        scheduleRefresh(0);
        return true;
      });
    }
    return signing;
  }

  // --- Payment methods page (Cornerstone templates/components/account/payment-methods-list.html) ------------
  var statusPromise = null;
  function isSubscriber() {
    if (!statusPromise) {
      statusPromise = currentCustomer().then(function (who) {
        if (!who) { return false; }
        return serviceGet('/api/v1/ordergroove/customer/has_subscriptions', who.token).then(function (body) {
          return body && body.status === true;
        });
      });
      statusPromise.catch(function () { statusPromise = null; }); // try again on the next click
    }
    return statusPromise;
  }
  function closest(element, selector) {
    while (element && element.nodeType === 1) {
      if (element.matches(selector)) { return element; }
      element = element.parentElement;
    }
    return null;
  }
  function showAlert(anchor, text) {
    // Cornerstone's alert box (templates/components/common/alert/alert-error.html).
    var box = document.querySelector('[data-og-alert]');
    if (!box) {
      box = document.createElement('div');
      box.className = 'alertBox alertBox--error';
      box.setAttribute('role', 'alert');
      box.setAttribute('data-og-alert', '');
      box.appendChild(document.createElement('p')).className = 'alertBox-column alertBox-message';
      var place = document.querySelector('.account-body') || anchor; // the account page's content column
      place.parentNode.insertBefore(box, place);
    }
    box.firstChild.textContent = text;
    if (box.scrollIntoView) { box.scrollIntoView({ block: 'center' }); }
  }
  function paymentMethodsGuard() {
    // form[data-delete-payment-method]: each stored instrument's Delete form. Listening on the document in the
    // capture phase runs before the theme's own submit handler (its confirm dialog), which we stop for a block.
    if (!document.querySelector('form[data-delete-payment-method]')) { return; }
    document.addEventListener('submit', function (event) {
      var form = event.target;
      if (!form || !form.hasAttribute || !form.hasAttribute('data-delete-payment-method')) { return; }
      if (form.getAttribute('data-og-allowed') === '1') { form.removeAttribute('data-og-allowed'); return; }
      var card = closest(form, '.paymentMethod'); // the instrument's card
      if (!card || !card.querySelector('.methodHeader-default')) { return; } // the star marks the default one
      event.preventDefault();
      event.stopImmediatePropagation();
      isSubscriber().then(function (subscriber) {
        if (subscriber) {
          showAlert(form, 'This card pays for your active subscriptions. Add another card and make it your ' +
                          'default before deleting this one.');
          return;
        }
        form.setAttribute('data-og-allowed', '1');
        if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
      }, function (error) {
        logOnce('could not read the subscriber status', error);
        showAlert(form, 'We could not check your subscriptions just now. Please try again in a moment.');
      });
    }, true);
  }

  // --- Subscription Manager page and the My Account link ------------------------------------------------------
  function samePath(a, b) { return a.replace(/\/+$/, '') === b.replace(/\/+$/, ''); }
  function isManagerPage() {
    return !!document.getElementById('og-msi') || (!!cfg.msiPath && samePath(window.location.pathname, cfg.msiPath));
  }
  function accountLink() {
    var section = document.querySelector('.navBar--account .navBar-section'); // Cornerstone account navigation
    if (!section || !cfg.msiPath || section.querySelector('[data-og-msi-link]')) { return; }
    var item = document.createElement('li');
    item.className = 'navBar-item';
    item.setAttribute('data-og-msi-link', '');
    var link = item.appendChild(document.createElement('a'));
    link.className = 'navBar-action';
    link.href = cfg.msiPath;
    link.textContent = cfg.msiTitle;
    section.appendChild(item);
  }
  function subscriptionManager() {
    currentCustomer().then(function (who) {
      if (!who) { // guests log in first and come back (BigCommerce's login honours "from")
        window.location.assign('/login.php?from=' + encodeURIComponent(window.location.pathname + window.location.search));
        return;
      }
      var box = document.getElementById('og-msi');
      if (!box) {
        box = document.createElement('div');
        box.id = 'og-msi';
        (document.querySelector('.page-content') || document.body).appendChild(box); // Cornerstone page body
      }
      var load = function () {
        var script = document.createElement('script');
        script.type = 'text/javascript';
        script.src = cfg.staticDomain + '/' + encodeURIComponent(cfg.merchant) + '/msi.js';
        document.body.appendChild(script);
      };
      // msi.js reads og_auth, so it is set first; msi.js still loads (and explains) if signing failed.
      ensureOgAuth(who).then(load, function (error) { logOnce('og_auth could not be set', error); load(); });
    }).catch(function (error) { logOnce('the Subscription Manager could not load', error); });
  }

  // --- Checkout guards (Optimized One-Page Checkout, bigcommerce/checkout-js markup) ---------------------------
  function isOneTime(value) {
    var text = String(value || '').trim().toLowerCase();
    return !text || cfg.oneTime.indexOf(text) >= 0 || /^one[\s-]?time/.test(text);
  }
  function hasSubscriptionItem(carts) {
    // DECISIONS §3.7: a line whose "Subscription" modifier has a recurring option chosen.
    var cart = carts && carts[0];
    if (!cart || !cart.lineItems) { return false; }
    var items = [].concat(cart.lineItems.physicalItems || [], cart.lineItems.digitalItems || []);
    return items.some(function (item) {
      return (item.options || []).some(function (option) {
        return /subscription/i.test(option.name || '') && !isOneTime(option.value);
      });
    });
  }
  var GUARD_CSS = [
    '[data-test="sign-out-link"]', // CustomerInfo: the Sign Out button of a signed-in shopper
    'button.instrumentModal-trigger', // CardInstrumentFieldset: "Manage" stored instruments (delete) button
    '#checkout-customer-continue', // GuestForm: "Continue as guest"
    '.checkoutRemote' // CheckoutButtonList: wallet buttons (PayPal, Amazon Pay...) in the customer step
  ].join(',') + '{display:none !important}' +
    '.form-field--saveInstrument{pointer-events:none}'; // InstrumentStorageField: save-card box stays ticked
  function applyCheckoutGuards() {
    // PaymentMethodList: one li.form-checklist-item per method, its radio named paymentProviderRadio.
    var radios = document.querySelectorAll('input[name="paymentProviderRadio"]');
    var firstAllowed = null;
    var hiddenChecked = false;
    Array.prototype.forEach.call(radios, function (radio) {
      var item = closest(radio, '.form-checklist-item') || radio.parentNode;
      if (NON_VAULTING.test(radio.value)) {
        if (item.style.display !== 'none') { item.style.display = 'none'; item.setAttribute('data-og-hidden', ''); }
        hiddenChecked = hiddenChecked || radio.checked;
      } else if (!firstAllowed) {
        firstAllowed = radio;
      }
    });
    if (hiddenChecked && firstAllowed) { firstAllowed.click(); }
    // InstrumentStorageField: "Save this card for future transactions" must stay ticked.
    Array.prototype.forEach.call(document.querySelectorAll('input[name="shouldSaveInstrument"]'), function (box) {
      if (!box.checked) { box.click(); }
    });
    // GuestForm (form#checkout-customer-guest): a guest signs in or creates an account instead.
    var guest = document.getElementById('checkout-customer-guest');
    if (guest && !guest.querySelector('[data-og-login-note]')) {
      var note = document.createElement('p');
      note.className = 'form-legend-container';
      note.setAttribute('data-og-login-note', '');
      note.textContent = 'Your cart has a subscription: please sign in or create an account to continue.';
      guest.insertBefore(note, guest.firstChild);
    }
  }
  function checkoutGuards() {
    window.fetch('/api/storefront/carts?include=lineItems.physicalItems.options,lineItems.digitalItems.options', {
      credentials: 'same-origin', headers: { Accept: 'application/json' }
    }).then(function (response) {
      return response.ok ? response.json() : [];
    }).then(function (carts) {
      if (!hasSubscriptionItem(carts)) { return; } // nothing changes for a cart without a subscription
      var style = document.createElement('style');
      style.setAttribute('data-og-checkout', '');
      style.appendChild(document.createTextNode(GUARD_CSS));
      document.head.appendChild(style);
      document.documentElement.setAttribute('data-og-subscription-cart', '');
      currentCustomer().then(function (who) {
        // A guest who already went past the customer step cannot place the order either (PaymentSubmitButton).
        if (!who) { style.appendChild(document.createTextNode('#checkout-payment-continue{display:none !important}')); }
      }).catch(function (error) { logOnce('could not read the customer', error); });
      applyCheckoutGuards();
      // The checkout is a React app that renders its steps later: re-apply whenever it changes the page.
      new window.MutationObserver(function () {
        try { applyCheckoutGuards(); } catch (error) { logOnce('checkout guard failed', error); }
      }).observe(document.body, { childList: true, subtree: true });
    }).catch(function (error) { logOnce('could not read the cart', error); });
  }

  // --- Start ----------------------------------------------------------------------------------------------------
  function start() {
    if (data('page') === 'checkout') {
      if (enabled('checkout')) { checkoutGuards(); }
      return;
    }
    if (enabled('msi')) { accountLink(); }
    if (enabled('msi') && isManagerPage()) {
      subscriptionManager();
    } else if (enabled('og_auth')) {
      currentCustomer().then(ensureOgAuth).catch(function (error) { logOnce('og_auth could not be set', error); });
    }
    if (enabled('payment_guard')) { paymentMethodsGuard(); }
  }
  try {
    if (document.readyState === 'loading') {
      document.addEventListener('DOMContentLoaded', function () {
        try { start(); } catch (error) { logOnce('storefront script failed', error); }
      });
    } else {
      start();
    }
  } catch (error) {
    logOnce('storefront script failed', error);
  }
}(window, document));

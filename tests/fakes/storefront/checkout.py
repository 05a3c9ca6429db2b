"""The Optimized One-Page Checkout page, with the markup of bigcommerce/checkout-js (its React components named
below). Like the real one it renders its steps after the page has loaded (here 50 ms later, from a <template>),
so a script must watch the page rather than read it once."""

from __future__ import annotations

import json
from html import escape

# (method id as checkout-js's radio value, name, can it store a card for later)
PAYMENT_METHODS = (
    ("braintreepaypal", "PayPal", False),
    ("braintree", "Credit Card", True),
    ("amazonpay", "Amazon Pay", False),
)


def _customer_step(customer: dict | None) -> str:
    if customer:  # CustomerInfo
        return (f'<div class="customerView" data-test="checkout-customer-info">'
                f'<div class="customerView-body" data-test="customer-info">{escape(customer["email"])}</div>'
                '<div class="customerView-actions"><button class="button button--tertiary button--tiny" '
                'data-test="sign-out-link" type="button" onclick="location.href=\'/login.php?action=logout\'">'
                'Sign Out</button></div></div>')
    # GuestForm, with CheckoutButtonList's wallet buttons
    return ('<form class="checkout-form" id="checkout-customer-guest" data-test="checkout-customer-guest">'
            '<fieldset class="form-fieldset"><div class="customerEmail-container"><div class="customerEmail-body">'
            '<label for="email" class="form-label">Email</label><input id="email" name="email" type="email" '
            'class="form-input"></div><div class="form-actions customerEmail-action">'
            '<button class="button customerEmail-button button--primary" id="checkout-customer-continue" '
            'data-test="customer-continue-as-guest-button" type="submit">Continue as guest</button></div></div>'
            '<p class="customer-login-link">Already have an account? <a data-test="customer-continue-button" '
            'id="checkout-customer-login" href="/login.php?from=%2Fcheckout">Sign in now</a></p>'
            '<p>Or continue with</p><div class="checkoutRemote"><button type="button" id="wallet-paypal">PayPal'
            '</button><button type="button" id="wallet-amazonpay">Amazon Pay</button></div></fieldset></form>')


def _method(method_id: str, name: str, vaults: bool, *, checked: bool, has_instruments: bool) -> str:
    # PaymentMethodList → PaymentMethodListItem → PaymentMethodTitle; the card method's body holds
    # CardInstrumentFieldset ("Manage" button) and InstrumentStorageField (save the card).
    body = ""
    if vaults:
        manage = ('<fieldset class="form-fieldset instrumentFieldset"><button class="instrumentModal-trigger" '
                  'type="button">Manage</button></fieldset>' if has_instruments else "")
        body = (f'<div class="form-checklist-body">{manage}<div class="form-field form-field--saveInstrument">'
                '<input type="checkbox" id="shouldSaveInstrument" name="shouldSaveInstrument" class="form-checkbox">'
                '<label for="shouldSaveInstrument" class="form-label">Save this card for future transactions'
                '</label></div></div>')
    return (f'<li class="form-checklist-item optimizedCheckout-form-checklist-item"><div class="form-checklist-header">'
            f'<div class="form-field"><input id="radio-{method_id}" type="radio" name="paymentProviderRadio" '
            f'class="form-checklist-checkbox optimizedCheckout-form-checklist-checkbox" value="{method_id}"'
            f'{" checked" if checked else ""}><label for="radio-{method_id}" class="form-label '
            f'optimizedCheckout-form-label"><div class="paymentProviderHeader-container"><div '
            f'class="paymentProviderHeader-nameContainer" data-test="payment-method-{method_id}"><div '
            f'class="paymentProviderHeader-name" data-test="payment-method-name">{escape(name)}</div></div></div>'
            f'</label></div></div>{body}</li>')


def checkout_page(*, customer: dict | None, has_instruments: bool, cart_items: int) -> str:
    methods = "".join(_method(mid, name, vaults, checked=index == 0, has_instruments=has_instruments)
                      for index, (mid, name, vaults) in enumerate(PAYMENT_METHODS))
    steps = (f'<ol class="checkout-steps"><li class="checkout-step optimizedCheckout-checkoutStep '
             f'checkout-step--customer">{_customer_step(customer)}</li>'
             f'<li class="checkout-step optimizedCheckout-checkoutStep checkout-step--payment">'
             f'<form class="checkout-form" id="checkout-payment"><ul class="form-checklist '
             f'optimizedCheckout-form-checklist">{methods}</ul><div class="form-actions">'
             f'<button id="checkout-payment-continue" class="button button--action" type="submit">Place Order'
             f'</button></div></form></li></ol>')
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Checkout</title></head>
<body>
<header class="checkoutHeader optimizedCheckout-header"><a href="/">Fake Cornerstone store</a></header>
<div id="checkout-app" data-cart-items="{cart_items}"><div class="loadingNotification">Loading…</div></div>
<template id="checkout-markup">{steps}</template>
<script>
  // Stands in for checkout-js: the steps appear after the page and its footer scripts have run.
  window.setTimeout(function () {{
    var app = document.getElementById('checkout-app');
    app.innerHTML = '';
    app.appendChild(document.getElementById('checkout-markup').content.cloneNode(true));
    app.setAttribute('data-rendered', {json.dumps('yes')});
  }}, 50);
</script>
</body></html>"""

"""Storefront pages with Cornerstone's markup (bigcommerce/cornerstone templates): the layout, login, the account
navigation and payment methods, a web page made with the Pages API, the cart. Only the parts the storefront
script reads are kept; class names and attributes are Cornerstone's."""

from __future__ import annotations

from html import escape

# Just enough look for a newcomer opening the sandbox's demo storefront (the real theme's CSS is not needed).
STYLE = """<style>
body{font-family:sans-serif;margin:0;color:#222}.header,.footer{background:#f2f3f7;padding:8px 24px}
.container{padding:8px 24px;max-width:960px}
.navUser-section,.navBar-section{list-style:none;padding:0;display:flex;gap:16px}
.navBar-item.is-active{font-weight:bold}.methodHeader-default{width:14px;height:14px;background:#f5b400}
.paymentMethod{border:1px solid #ccd;padding:8px;margin:8px 0;max-width:360px}
.alertBox{padding:8px 12px;margin:8px 0;border-radius:4px}.alertBox--error{background:#fbe4e4;color:#a30000}
.alertBox--info{background:#e6eefc}.button{margin-right:6px}.productGrid{list-style:none;padding:0}
</style>"""


def layout(title: str, body: str, *, customer: dict | None) -> str:
    """templates/layout/base.html + components/common/header.html (navUser)."""
    if customer:
        user_links = ('<li class="navUser-item"><a class="navUser-action" href="/account.php">Account</a></li>'
                      '<li class="navUser-item"><a class="navUser-action" href="/login.php?action=logout">'
                      'Sign out</a></li>')
    else:
        user_links = '<li class="navUser-item"><a class="navUser-action" href="/login.php">Sign in</a></li>'
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)} - Fake Cornerstone store</title>{STYLE}</head>
<body>
<header class="header"><nav class="navUser"><ul class="navUser-section navUser-section--alt">{user_links}
<li class="navUser-item navUser-item--cart"><a class="navUser-action" href="/cart.php">Cart</a></li></ul></nav>
<h1 class="header-logo"><a href="/">Fake Cornerstone store</a></h1></header>
<main class="body" id="main-content"><div class="container">
{body}
</div></main>
<footer class="footer"><p>Powered by the project's fake BigCommerce</p></footer>
</body></html>"""


def home(products: list[dict]) -> str:
    items = []
    for product in products:
        links = [f'<a class="button" href="/cart.php?action=add&amp;product_id={product["id"]}">Add to cart</a>']
        for modifier in product.get("modifiers") or []:
            for value in modifier["option_values"]:
                links.append(f'<a class="button" data-option="{escape(value["label"])}" href="/cart.php?action=add'
                             f'&amp;product_id={product["id"]}&amp;attribute[{modifier["id"]}]={value["id"]}">'
                             f'{escape(value["label"])}</a>')
        items.append(f'<li class="product" data-product-id="{product["id"]}"><h4 class="card-title">'
                     f'{escape(product["name"])}</h4>{" ".join(links)}</li>')
    return f'<h1 class="page-heading">Shop</h1><ul class="productGrid">{"".join(items)}</ul>'


def login(*, error: str = "", from_path: str = "") -> str:
    """templates/pages/auth/login.html (components/common/login-form)."""
    alert = (f'<div class="alertBox alertBox--error"><p class="alertBox-column alertBox-message">{escape(error)}</p>'
             f'</div>' if error else "")
    return f"""<h1 class="page-heading">Sign in</h1>{alert}
<div class="login"><form class="login-form form" action="/login.php?action=check_login" method="post">
<input type="hidden" name="from" value="{escape(from_path)}">
<div class="form-field"><label class="form-label" for="login_email">Email Address:</label>
<input class="form-input" name="login_email" id="login_email" type="email"></div>
<div class="form-field"><label class="form-label" for="login_pass">Password:</label>
<input class="form-input" id="login_pass" type="password" name="login_pass"></div>
<div class="form-actions"><input type="submit" class="button button--primary" value="Sign in"></div>
</form></div>"""


ACCOUNT_NAV = (("orders", "/account.php?action=order_status", "Orders"),
               ("payment_methods", "/account.php?action=payment_methods", "Payment Methods"),
               ("settings", "/account.php?action=account_details", "Account Settings"))


def account_navigation(active: str) -> str:
    """templates/components/account/navigation.html."""
    items = []
    for key, url, label in ACCOUNT_NAV:
        if key == active:
            items.append(f'<li class="navBar-item is-active">{label}</li>')
        else:
            items.append(f'<li class="navBar-item"><a class="navBar-action" href="{url}">{label}</a></li>')
    return f'<nav class="navBar navBar--account"><ul class="navBar-section">{"".join(items)}</ul></nav>'


def account_orders() -> str:
    """templates/pages/account/orders/all.html."""
    return (f'<h2 class="page-heading">Orders</h2>{account_navigation("orders")}'
            '<div class="account account--fixed"><div class="account-body"><p>You haven\'t placed any orders.</p>'
            '</div></div>')


def payment_methods(instruments: list[dict]) -> str:
    """templates/pages/account/payment-methods.html + components/account/payment-methods-list.html, with the
    theme's own submit handler asking for confirmation (Cornerstone's account.js)."""
    cards = []
    for index, card in enumerate(instruments):
        star = '<svg class="methodHeader-default"><use xlink:href="#icon-star"></use></svg>'
        default = star if card["is_default"] else ""
        token = escape(card["token"])
        brand = f"{escape(card.get('brand', ''))} ending in {escape(card.get('last_4', ''))}"
        cards.append(f"""<div class="paymentMethodsGrid-item" data-token="{token}"><div class="paymentMethod">
<div class="paymentMethod-row"><div class="methodHeader"><span class="methodHeader-brand">{brand}</span>
<div class="methodHeader-meta">{default}</div></div></div>
<div class="paymentMethod-row"><form action="/account.php?action=delete_payment_method" method="post"
 data-delete-payment-method="Are you sure you want to delete this payment method?">
<input type="hidden" name="token" value="{token}">
<button type="submit" class="button button--small methodActions-button" id="delete-{index}">Delete</button></form>
</div></div></div>""")
    listing = ('<div class="paymentMethodsGrid">' + "".join(cards) + "</div>" if cards else
               '<div class="alertBox alertBox--info">You have no stored payment methods.</div>')
    return f"""<h2 class="page-heading">Payment Methods</h2>{account_navigation("payment_methods")}
<div class="account account--fixedLarge"><div class="account-body"><h4 class="paymentMethodsTitle">Stored cards</h4>
{listing}</div></div>
<script>
  document.querySelectorAll('[data-delete-payment-method]').forEach(function (form) {{
    form.addEventListener('submit', function (event) {{
      if (!window.confirm(form.getAttribute('data-delete-payment-method'))) {{ event.preventDefault(); }}
    }});
  }});
</script>"""


def web_page(page: dict) -> str:
    """templates/pages/page.html: a page created in the control panel or through the Pages API."""
    return (f'<div class="page"><h1 class="page-heading">{escape(page["name"])}</h1>'
            f'<main class="page-content">{page.get("body") or ""}</main></div>')


def cart(items: list[dict]) -> str:
    """templates/pages/cart.html (content only)."""
    rows = "".join(f'<tr class="cart-item"><td class="cart-item-title">{escape(i["name"])}'
                   + "".join(f'<dl class="definitionList"><dt>{escape(o["name"])}:</dt><dd>{escape(o["value"])}'
                             f'</dd></dl>' for o in i["options"])
                   + f'</td><td class="cart-item-quantity">{i["quantity"]}</td></tr>' for i in items)
    return (f'<h1 class="page-heading">Your Cart ({len(items)} items)</h1><table class="cart">{rows}</table>'
            '<div class="cart-actions"><a class="button button--primary" href="/checkout">Check out</a></div>')

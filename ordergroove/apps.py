from django.apps import AppConfig


class OrdergrooveConfig(AppConfig):
    name = "ordergroove"

    def ready(self) -> None:
        # The BigCommerce inbox dispatches webhooks by scope to the handlers registered here (issue 4).
        from bigcommerce_app.console_nav import overview_panel_register
        from ordergroove.console.checklist import setup_checklist
        from ordergroove.storefront_script import content
        from ordergroove.sync import handlers

        handlers.register()
        # The Overview's setup checklist (bigcommerce_app renders the page but never imports ordergroove).
        overview_panel_register("setup_checklist", "ordergroove/checklist.html",
                                lambda store: {"checklist": setup_checklist(store)}, order=10)
        # bigcommerce_app installs our storefront script and page through the Scripts and Pages APIs (issue 13).
        content.register()

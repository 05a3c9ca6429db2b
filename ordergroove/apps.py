from django.apps import AppConfig


class OrdergrooveConfig(AppConfig):
    name = "ordergroove"

    def ready(self) -> None:
        """Plug Ordergroove's flows into bigcommerce_app, which never imports ordergroove: the webhook handlers,
        the Overview's setup checklist and the storefront content. Imported here, where Django's documented
        start-up hook runs once every app's models are loaded; nothing else happens at start-up."""
        from bigcommerce_app.console_nav import overview_panel_register
        from ordergroove.console.checklist import setup_checklist
        from ordergroove.storefront_script import content
        from ordergroove.sync import handlers

        # The BigCommerce inbox dispatches webhooks by scope to the handlers registered here (issue 4).
        handlers.register()
        # The Overview's setup checklist (bigcommerce_app renders the page but never imports ordergroove).
        overview_panel_register("setup_checklist", "ordergroove/checklist.html",
                                lambda store: {"checklist": setup_checklist(store)}, order=10)
        # bigcommerce_app installs our storefront script and page through the Scripts and Pages APIs (issue 13).
        content.register()

"""The merchant console, one package on top of everything else (layer 5): the pages and JSON API a merchant uses
inside the BigCommerce control panel, and their authentication.

- `callbacks`: BigCommerce's app callbacks (auth, load, uninstall, remove-user); auth and load issue the console
  token and open the console, the lifecycle itself is `bigcommerce_app.services`;
- `auth` (cookieless console tokens, the API views' base), `nav` (the tab bar), `labels` (codes in the merchant's
  words), `alerts` (banners and their acknowledgement), `overview` (`/console/` with the setup checklist);
- `settings/`: the Settings tab, its JSON API and the setup checklist; it composes the two settings owners
  (`ordergroove.store_settings`, `feeds.store_settings`): its serializers only shape the form, the rules and the
  writes are the owners';
- `activity/`: inbound BigCommerce events and outbound Ordergroove deliveries, with replay (the flows' services);
- `events/`: the page of the events Ordergroove sent (ordergroove.events' selectors);
- `products/`: the Import/Export tab and API (feeds.products: the import checks every row, the export job);
- `feed/`: the Product feed tab and API (feeds.feed: runs, schedule, SFTP host key);
- `storefront/`: the Storefront tab (ordergroove.storefront_script; the public script file stays there).

May import any layer below: `middleware.plumbing`, the vendor clients, `bigcommerce_app` (models, lifecycle,
inbox), the settings owners and the domain flows' selectors and services. Nothing below imports it.
Its templatetags stay in `bigcommerce_app/templatetags/` (Django looks for them there).
"""

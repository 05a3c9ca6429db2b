"""Product CSV import (seed 002): every row validated against the frequency table and the live product
modifiers, every error reported by row, column and reason, nothing applied unless the whole file is valid, and
the previous settings kept to compare and roll back."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from bigcommerce_app.models import AuditEvent
from feeds.models import ProductSettingsImport, ProductSubscriptionSetting
from tests.feeds.products.conftest import csv_text

pytestmark = pytest.mark.django_db

COFFEE_CONFIGURED = ("[{'Name':'One-time purchase';'option_id':132;'every':0;'every_period':0;'is_default':' TRUE'};\n"
                     "{'Name':'Every 1 month';'option_id':133;'every':1;'every_period':3;'is_default':'FALSE'};\n"
                     "{'Name':'Every 2 months';'option_id':134;'every':2;'every_period':3;'is_default':'FALSE'}]")
TEA_CONFIGURED = ("[{'Name':'Once';'option_id':711;'every':0;'every_period':0;'is_default':'FALSE'};"
                  "{'Name':'Every 2 weeks';'option_id':712;'every':2;'every_period':2;'is_default':'TRUE'}]")


def _row(pid, autoship, frequency, *, sku="", name="", modifier_id="", modifier=""):
    return {"Product ID": str(pid), "SKU": sku, "Name": name, "Subscription Modifier ID": modifier_id,
            "Subscription Modifier": modifier, "Autoship Eligible": autoship, "Frequency": frequency}


def _good_rows():
    return [_row(111, "TRUE", COFFEE_CONFIGURED, sku="COF-1", name="Coffee", modifier_id="501",
                 modifier="Subscription"),
            _row(112, "false", "", sku="MUG-1", name="Mug"),
            _row(113, " True ", TEA_CONFIGURED, modifier_id="602")]


def _upload(console_api, text: str, name: str = "products.csv", encoding: str = "utf-8"):
    return console_api.post("/console/api/products/imports",
                            {"file": SimpleUploadedFile(name, text.encode(encoding), content_type="text/csv")})


def test_a_valid_file_is_applied_and_becomes_the_product_settings(console_api, catalog, store):
    response = _upload(console_api, csv_text(_good_rows()))
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "applied" and body["errors"] == [] and body["summary"] == {
        "added": 3, "changed": 0, "unchanged": 0}

    coffee = ProductSubscriptionSetting.objects.get(store=store, bc_product_id=111)
    assert coffee.autoship_eligible and coffee.modifier_id == 501 and coffee.modifier_name == "Subscription"
    assert coffee.sku == "COF-1" and coffee.name == "Coffee"
    assert coffee.frequencies == [
        {"name": "One-time purchase", "option_id": 132, "every": 0, "every_period": 0, "is_default": True},
        {"name": "Every 1 month", "option_id": 133, "every": 1, "every_period": 3, "is_default": False},
        {"name": "Every 2 months", "option_id": 134, "every": 2, "every_period": 3, "is_default": False}]
    assert coffee.frequency_for_option(134)["every"] == 2 and coffee.default_frequency["option_id"] == 132
    tea = ProductSubscriptionSetting.objects.get(store=store, bc_product_id=113)
    assert tea.modifier_id == 602 and tea.default_frequency["option_id"] == 712
    assert not ProductSubscriptionSetting.objects.get(store=store, bc_product_id=112).autoship_eligible
    assert AuditEvent.objects.filter(store=store, kind="product_settings_imported").count() == 1


def test_a_raw_text_csv_body_semicolon_delimiter_and_bom_are_accepted(console_api, catalog, store):
    text = "\ufeff" + csv_text(_good_rows(), delimiter=";")
    response = console_api.post("/console/api/products/imports?file_name=excel.csv", text.encode(),
                                content_type="text/csv")
    assert response.status_code == 201, response.json()
    assert response.json()["file_name"] == "excel.csv"
    assert ProductSubscriptionSetting.objects.filter(store=store, autoship_eligible=True).count() == 2


def test_a_broken_file_reports_every_error_and_changes_nothing(console_api, catalog, store):
    first = _upload(console_api, csv_text(_good_rows()))
    assert first.status_code == 201
    before = list(ProductSubscriptionSetting.objects.filter(store=store).order_by("bc_product_id").values())

    rows = _good_rows() + [
        _row("abc", "TRUE", COFFEE_CONFIGURED),                                                     # row 5
        _row(111, "TRUE", COFFEE_CONFIGURED),                                                       # row 6 duplicate
        _row(114, "YES", ""),                                                                       # row 7
        _row(115, "TRUE", "[{'Name':'x';'option_id':1"),                                            # row 8
        _row(116, "TRUE", COFFEE_CONFIGURED.replace("'every_period':3", "'every_period':5", 1)),   # row 9
    ]
    rows[0]["Frequency"] = COFFEE_CONFIGURED.replace("'is_default':'FALSE'", "'is_default':'TRUE'", 1)  # row 2
    response = _upload(console_api, csv_text(rows))
    assert response.status_code == 400
    body = response.json()
    assert body["status"] == "rejected" and body["error_total"] == 7
    got = [(e["row"], e["column"]) for e in body["errors"]]  # in file order
    assert got == [(2, "Frequency"), (5, "Product ID"), (6, "Product ID"), (7, "Autoship Eligible"),
                   (8, "Frequency"), (9, "Product ID"), (9, "Frequency")]
    reasons = {e["row"]: e["reason"] for e in body["errors"]}
    # Every error of the file, including the catalog's answer for a row that also breaks a frequency rule.
    assert body["errors"][5]["reason"] == "Product 116 does not exist in the BigCommerce catalog."
    assert "Exactly one option must have is_default TRUE; 2 do" in reasons[2]
    assert "'abc' is not a BigCommerce product id" in reasons[5]
    assert "already listed on row 2" in reasons[6]
    assert "'YES' is not TRUE or FALSE" in reasons[7]
    assert "';' between keys or '}'" in reasons[8]
    assert "every_period 5 is not valid" in reasons[9]
    after = list(ProductSubscriptionSetting.objects.filter(store=store).order_by("bc_product_id").values())
    assert after == before  # nothing applied
    assert ProductSettingsImport.objects.get(pk=body["id"]).status == "rejected"


def test_option_ids_must_exist_on_the_products_subscription_modifier(console_api, catalog, store):
    rows = [
        _row(111, "TRUE", COFFEE_CONFIGURED.replace("'option_id':134", "'option_id':999")),  # unknown option
        _row(112, "TRUE", COFFEE_CONFIGURED),                                                 # no modifier
        _row(113, "TRUE", "[{'Name':'Every 2 weeks';'option_id':712;'every':2;'every_period':2;"
                          "'is_default':'TRUE'}]"),                                           # 711 uncovered
        _row(987654, "TRUE", COFFEE_CONFIGURED),                                              # not in catalog
    ]
    response = _upload(console_api, csv_text(rows))
    assert response.status_code == 400
    reasons = {e["row"]: (e["column"], e["reason"]) for e in response.json()["errors"]}
    assert reasons[2][0] == "Frequency" and "option_id 999 ('Every 2 months') is not an option of the modifier " \
        "'Subscription' (501); its options are 132 ('One-time purchase'), 133 ('Every 1 month'), 134" in reasons[2][1]
    assert reasons[3] == ("Autoship Eligible", "Product 112 has no product modifier whose name contains "
                          "'Subscription'; add one in BigCommerce (seed 002 'Offers') and export again.")
    assert reasons[4][0] == "Frequency" and "711 ('Once') have no frequency" in reasons[4][1]
    assert reasons[5] == ("Product ID", "Product 987654 does not exist in the BigCommerce catalog.")
    assert ProductSubscriptionSetting.objects.filter(store=store).count() == 0


def test_a_stale_modifier_id_asks_for_a_new_export(console_api, catalog):
    rows = [_row(111, "TRUE", COFFEE_CONFIGURED, modifier_id="499")]
    response = _upload(console_api, csv_text(rows))
    assert response.status_code == 400
    assert response.json()["errors"] == [{"row": 2, "column": "Subscription Modifier ID", "reason":
                                          "The product's subscription modifier is now 501 ('Subscription'), not "
                                          "499: export again."}]


@pytest.mark.parametrize(("text", "reason"), [
    ("", "The file is empty."),
    ("Product ID,SKU\r\n1,A\r\n", "lacks the column(s) Autoship Eligible, Frequency"),
    ("Product ID,Autoship Eligible,Frequency\r\n", "has a header but no product rows"),
])
def test_unusable_files_are_refused_clearly(console_api, catalog, text, reason):
    response = _upload(console_api, text)
    assert response.status_code == 400
    assert reason in response.json()["errors"][0]["reason"]


def test_export_edit_import_round_trip(console_api, catalog, store, django_capture_on_commit_callbacks):
    from feeds.products import services
    from tests.feeds.products.conftest import csv_rows

    with django_capture_on_commit_callbacks(execute=False):
        job = console_api.post("/console/api/products/exports").json()
    services.product_export_run(job["id"])
    exported = csv_rows(b"".join(console_api.get(
        f"/console/api/products/exports/{job['id']}/download").streaming_content).decode())
    # The untouched export imports (every row FALSE), then the merchant configures Coffee.
    assert _upload(console_api, csv_text(exported)).status_code == 201
    exported[0]["Autoship Eligible"] = "TRUE"
    exported[0]["Frequency"] = exported[0]["Frequency"].replace(
        "'option_id':133;'every':0;'every_period':0", "'option_id':133;'every':1;'every_period':3").replace(
        "'option_id':134;'every':0;'every_period':0", "'option_id':134;'every':2;'every_period':3")
    response = _upload(console_api, csv_text(exported))
    assert response.status_code == 201, response.json()
    assert response.json()["summary"] == {"added": 0, "changed": 1, "unchanged": 2}
    assert ProductSubscriptionSetting.objects.get(store=store, bc_product_id=111).frequency_for_option(134)[
        "every"] == 2


def test_compare_and_roll_back_the_latest_import(console_api, catalog, store):
    first = _upload(console_api, csv_text(_good_rows())).json()
    rows = _good_rows()[:1]
    rows[0]["Frequency"] = COFFEE_CONFIGURED.replace("'every':2", "'every':3")
    rows.append(_row(114, "FALSE", ""))
    second = _upload(console_api, csv_text(rows)).json()
    assert second["summary"] == {"added": 1, "changed": 1, "unchanged": 0}
    detail = console_api.get(f"/console/api/products/imports/{second['id']}").json()
    changes = {c["bc_product_id"]: c for c in detail["changes"]}
    assert changes[111]["change"] == "changed" and changes[114]["change"] == "added"
    assert changes[111]["before"]["frequencies"][2]["every"] == 2
    assert changes[111]["after"]["frequencies"][2]["every"] == 3

    # Only the most recent applied import can be rolled back.
    refused = console_api.post(f"/console/api/products/imports/{first['id']}/rollback")
    assert refused.status_code == 409 and f"import #{second['id']} was applied after" in refused.json()["detail"]

    rolled = console_api.post(f"/console/api/products/imports/{second['id']}/rollback")
    assert rolled.status_code == 200 and rolled.json()["status"] == "rolled_back"
    coffee = ProductSubscriptionSetting.objects.get(store=store, bc_product_id=111)
    assert coffee.frequency_for_option(134)["every"] == 2  # the first import's value is back
    assert not ProductSubscriptionSetting.objects.filter(store=store, bc_product_id=114).exists()
    again = console_api.post(f"/console/api/products/imports/{second['id']}/rollback")
    assert again.status_code == 409 and "nothing to roll back" in again.json()["detail"]
    # The first import is now the latest and can itself be rolled back to "no settings".
    assert console_api.post(f"/console/api/products/imports/{first['id']}/rollback").status_code == 200
    assert ProductSubscriptionSetting.objects.filter(store=store).count() == 0


"""The public names of millionscale.cdn are a deliberate list; each one resolves."""

import millionscale.cdn as cdn


def test_every_exported_name_exists():
    missing = [name for name in cdn.__all__ if not hasattr(cdn, name)]

    assert missing == []


def test_the_exported_names_are_exactly_these():
    records = {"Fields", "Request", "Response", "Stored", "cache_key"}
    rules = {
        "Directives", "parse_directives", "RulesSettings", "to_store", "NotStored", "lookup",
        "Lookup", "Fresh", "Stale", "Revalidate", "Miss", "GatewayTimeout", "after_revalidation",
        "conditional_fields", "client_not_modified", "usable_on_error", "invalidated_by",
        "response_fields", "parse_range", "range_applies", "RangeNotSatisfiable",
    }  # fmt: skip
    edge = {"Edge", "EdgeSettings", "EdgeStatistics", "Origin", "Fetched", "OriginFailure"}
    storage = {"Store", "StoreStatistics"}
    purges = {"Purge", "Purger", "PurgeResult", "PurgeFeed", "PurgeLog"}
    offload = {"offload", "Offload", "EdgeOffload", "StatisticsReading", "read_statistics"}

    assert set(cdn.__all__) == records | rules | edge | storage | purges | offload
    assert len(cdn.__all__) == len(set(cdn.__all__))

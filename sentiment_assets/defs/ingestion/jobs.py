import dagster as dg

# Per drop: read and stem only that file.
ingest_drop = dg.define_asset_job(
    "ingest_drop",
    selection=dg.AssetSelection.assets("raw_reviews", "stemmed_corpus"),
    description="Read, validate and stem one review drop (one partition).",
)

import dagster as dg

# One partition per CSV drop; the drop sensor adds keys as files land (see `drops.partition_key`).
review_drops = dg.DynamicPartitionsDefinition(name="review_drops")

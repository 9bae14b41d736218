"""Monitoring: production's live quality on each new drop before it learns from it, the drop's
drift, and production's predictions for every review of the drop."""

"""Market data sources behind one interface (`base.PriceProvider`), chained with failover."""

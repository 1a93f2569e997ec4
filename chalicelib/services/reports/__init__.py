"""Reports: counters kept from the streams, the log-scale histograms they hold, the report
built from them, and the daily briefing (what it says and sending it)."""

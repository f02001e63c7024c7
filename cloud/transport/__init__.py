"""Transport adapters (subscriber side): embedded local queue and Google Cloud Pub/Sub."""

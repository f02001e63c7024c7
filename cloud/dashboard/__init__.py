"""The trend dashboard: FastAPI app over the warehouse (trends) and the SQL store
(alerts, labels, replacements, pipeline state). Entry: ``wheel-cloud dashboard``."""

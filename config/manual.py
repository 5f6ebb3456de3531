"""Fixed names and ports the operations manual gives, each written once.

(The resource names that vary by environment are `config.names.Names`; the numbers behind
alarms are `config.thresholds`.)
"""

API_HOST_LABEL = "api"  # "Production API: https://api.contractorlens.com"
HEALTH_CHECK_PATH = "/health"  # "Health Check: /health"
METRICS_PORT = 9090  # "Prometheus Metrics: Port 9090"
GRAFANA_PORT = 3001  # "Monitoring Dashboard: Grafana on port 3001"
GRAFANA_HOST = "grafana-server"  # "http://grafana-server:3001/d/contractorlens-prod"

# Not the manual's, but AWS's: Route 53 publishes health-check metrics in this region only
# (Route 53 developer guide, "Monitoring health checks using CloudWatch"), so the alarm on the
# primary's health check, and with it the DR stack, lives here.
ROUTE53_METRICS_REGION = "us-east-1"

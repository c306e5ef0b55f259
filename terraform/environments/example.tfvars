# Copy to environments/<environment>.tfvars (Cloud Build reads environments/$_ENV.tfvars) and
# pass it with -var-file. It holds no secret. source_version comes from Cloud Build.
project_id   = "aiprod-prod-123456"
region       = "europe-west1"
name_prefix  = "aiprod"
environment  = "prod"
domains      = ["api.aiprod.example"]
alert_emails = ["oncall@aiprod.example"]

runbook_base_url = "https://github.com/aiprod/aiprod/blob/main"

read_replica_count = 1
backup_location    = "eu"

# Roll Cloud Armor rule changes out in preview first, read the logs, then set back to false.
armor_preview     = false
geo_block_regions = []

# Slack through Cloud Monitoring's own Slack app (optional, and best left empty: alert-notifier
# already posts every alert to the webhook of the slack-webhook-url secret, so both would post
# each alert twice). Pass the token with TF_VAR_slack_auth_token.
slack_channel_name = ""

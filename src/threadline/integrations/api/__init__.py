"""The API channel: an app posts customer messages in and receives replies at its webhook."""

"""The CTI service: AMI link, call model, configuration, composition root."""

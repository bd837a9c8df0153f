"""The audit trail's schema revisions, oldest first: 0001, 0002, 0003."""

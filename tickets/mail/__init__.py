"""Mail in: IMAP fetching, parsing (pure, in ``parse``) and threading of inbound mail."""

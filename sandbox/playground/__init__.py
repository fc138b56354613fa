"""`graybot playground`: the whole bot on one machine, no Slack account, in a browser."""

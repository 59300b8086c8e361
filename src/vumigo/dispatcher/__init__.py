"""The routing dispatcher: finds each message's account and next hop, and stores it on the way."""

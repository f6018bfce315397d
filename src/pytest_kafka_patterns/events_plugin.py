"""pytest hooks and fixtures for order-event factories, topic reading and assertions."""
